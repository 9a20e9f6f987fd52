//! The INPS flows of the *Casellario dell'assistenza* (SIUSS), produced from the case
//! database for one ente and one period: the **PSA/SINA** flow
//! (`PS_PSA_SINA201806.xsd`) and the **SINBA** flow (`SINBA.xsd`), both in
//! `../shared/spec/inps/`. The flows are individual by law, so they come from the
//! operational database, never from the pseudonymous warehouse.
//!
//! ```text
//!  Store::inps_flow(actor, kind, ente, period)              (permission InpsSend, scope)
//!    └─ tx!: ente's INPS set-up ─▶ extraction (store/inps_sql.rs)
//!              interventions delivered in the period + quotas, persons, cases,
//!              SINA / SINBA schemes, means tests, households, first reports
//!         ─▶ records (extract) ─▶ rules::psa_reasons / sinba_reasons
//!              ├─ fail: Rejected { record, every reason }   (pre-send report)
//!              └─ pass: write::psa / sinba ─▶ XML, named by the flow id
//!         ─▶ inps_flows (number, checksum) + audit line (who produced which flow id)
//! ```
//!
//! # The flows
//!
//! - **PSA** (*prestazioni sociali agevolate*): one `Beneficiario` per person, by fiscal
//!   code, with each benefit (`PrestazioniSociali`) delivered to them in the period: one
//!   per intervention of their case, coded through [`codes::BENEFITS`]. A periodic
//!   benefit carries its start, its end (the intervention's, or for one still running
//!   the end of its approved plan), the months of delivery within the period
//!   (`PeriodoErogazione`) and the monthly amount; interventions record quantities and
//!   amounts per month, as the catalogue counts them. A one-off benefit carries its
//!   date and amount. Quotas (ente, user, SSN) are those of the intervention. Every
//!   intervention belongs to a case, so every benefit is taken in charge
//!   (`PresaCarico` 1) and carries the INPS `AreaUtenza` of its area
//!   ([`codes::area_utenza`]). When the case has a SINA scheme (the latest assessed by
//!   the period's end) each of its benefits carries a `SINA` block, whose needed
//!   benefits are the codes of the case's benefits in the period.
//! - **SINBA** (children and their families): one record per child under 18 at the
//!   start of the period with benefits in it, identified by a pseudonym (an HMAC-SHA-256
//!   of the fiscal code under the ente's own key, 20 hex characters), never by fiscal
//!   code or name. The case file gives the age band, birth year, benefits, family
//!   (from the registry household: parents by the household roles and sex, siblings,
//!   grandparents, partners, others), the parents' citizenship, the first report (the
//!   earliest contact or alert, else the case's opening) and the ISEE band; a social
//!   worker records the rest of the SINBA scheme for the case.
//!
//! # The rules
//!
//! [`rules`] checks every record against what the XSD says of one record (patterns,
//! lengths, enumerations, required attributes and elements) and the rules INPS adds:
//! a periodic benefit needs start, end, months and monthly amount; a one-off needs date
//! and amount; `PresaCarico` 1 needs `AreaUtenza`; a SINA block needs mobility, daily
//! living, behaviour, income, support, source and instrument; SINBA never carries a
//! fiscal code. Citizenship must map to an ISTAT country code ([`codes::country_code`]),
//! the birth place comes from the fiscal code ([`codes::birth_place`]). A record that
//! fails is never put in a flow: the pre-send [`Report`] lists it with every reason,
//! field by field. A flow with nothing left to send is refused, never written empty.
//!
//! # File naming
//!
//! The flow id is `EEEE.PSA.INPS.yyyymmdd.nnnnnnn` for PSA and
//! `EEEE.SINBA.INPS.yyyymmdd.nnnnnnn` for SINBA: `EEEE` the ente's INPS code (set up
//! with [`crate::Store::set_inps_ente`]), `yyyymmdd` the day the flow is produced,
//! `nnnnnnn` its number, counted per ente and kind from 1. The id is the flow's
//! `IdentificazioneFlusso/@Nome` and the file is named `<flow id>.xml`.
//!
//! ```
//! use chrono::NaiveDate;
//! use mosaico_case_app::inps::{FlowKind, flow_id};
//! let day = NaiveDate::from_ymd_opt(2025, 1, 31).unwrap();
//! assert_eq!(flow_id("F205", FlowKind::Psa, day, 7), "F205.PSA.INPS.20250131.0000007");
//! ```

pub mod codes;
pub(crate) mod extract;
pub mod http;
pub mod input;
pub(crate) mod pages;
pub mod records;
pub mod rules;
pub mod write;
pub mod xml;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use input::{
    BenefitMeans, BenefitMeansInput, InpsEnte, InpsEnteInput, SinaAssessment, SinaInput, SinbaAssessment, SinbaInput,
};
pub use records::{FlowHeader, PsaRecord, SinbaRecord};

use crate::{CaseError, Checker, Result};

/// Which flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FlowKind {
    /// The PSA/SINA flow (benefits, with the SINA block of non-self-sufficiency).
    Psa,
    /// The SINBA flow (children and their families).
    Sinba,
}

impl FlowKind {
    /// `PSA` or `SINBA`, as in the flow id and the register of flows.
    pub fn code(self) -> &'static str {
        match self {
            FlowKind::Psa => "PSA",
            FlowKind::Sinba => "SINBA",
        }
    }

    /// The kind named `psa` or `sinba` (any case).
    pub fn parse(s: &str) -> Option<FlowKind> {
        match s.to_ascii_lowercase().as_str() {
            "psa" => Some(FlowKind::Psa),
            "sinba" => Some(FlowKind::Sinba),
            _ => None,
        }
    }

    /// The file name of the flow's XSD in `spec/inps`.
    pub fn xsd(self) -> &'static str {
        match self {
            FlowKind::Psa => "PS_PSA_SINA201806.xsd",
            FlowKind::Sinba => "SINBA.xsd",
        }
    }
}

/// The flow id: `EEEE.<KIND>.INPS.yyyymmdd.nnnnnnn`.
pub fn flow_id(ente_code: &str, kind: FlowKind, day: NaiveDate, number: i64) -> String {
    format!("{ente_code}.{}.INPS.{}.{number:07}", kind.code(), day.format("%Y%m%d"))
}

/// The period a flow covers: whole months, at most twelve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Period {
    /// First day (the first of a month).
    pub from: NaiveDate,
    /// Last day (the last of a month).
    pub to: NaiveDate,
}

impl Period {
    /// Checks `from` and `to` (`YYYY-MM-DD`), every problem at once.
    pub fn parse(from: &str, to: &str) -> Result<Period> {
        let mut c = Checker::default();
        let a = c.date("from", from);
        let z = c.date("to", to);
        if let Some(a) = a
            && a.day() != 1
        {
            c.fail(
                "from",
                "not_month_start",
                &[("date", a.to_string())],
                format!("{a}: a flow starts on the first day of a month"),
            );
        }
        if let Some(z) = z
            && z.succ_opt().is_some_and(|n| n.day() != 1)
        {
            c.fail(
                "to",
                "not_month_end",
                &[("date", z.to_string())],
                format!("{z}: a flow ends on the last day of a month"),
            );
        }
        if let (Some(a), Some(z)) = (a, z) {
            if z < a {
                c.fail(
                    "to",
                    "before_start",
                    &[("date", z.to_string()), ("start", a.to_string())],
                    format!("{z} is before {a}"),
                );
            } else if codes::months_touched(a, z) > 12 {
                c.fail("to", "period_too_long", &[("max", "12".to_owned())], "a flow covers at most 12 months");
            }
        }
        c.finish()?;
        match (a, z) {
            (Some(from), Some(to)) => Ok(Period { from, to }),
            _ => Err(CaseError::field("from", "required")),
        }
    }

    /// The last quarter (January–March, April–June, …) that ended before `today`.
    pub fn last_full_quarter(today: NaiveDate) -> Period {
        let first_month = today.month0() / 3 * 3 + 1;
        let current = NaiveDate::from_ymd_opt(today.year(), first_month, 1).unwrap_or(today);
        let to = current.pred_opt().unwrap_or(current);
        let from = NaiveDate::from_ymd_opt(to.year(), to.month() - 2, 1).unwrap_or(to);
        Period { from, to }
    }
}

/// A flow in the register of flows produced (`inps_flows`).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RegisteredFlow {
    /// Id in the register.
    pub id: i64,
    /// `PSA` or `SINBA`.
    pub kind: String,
    /// The flow id (`EEEE.PSA.INPS.yyyymmdd.nnnnnnn`).
    pub flow_id: String,
    /// First day of the period.
    pub period_from: NaiveDate,
    /// Last day of the period.
    pub period_to: NaiveDate,
    /// Records in the file.
    pub included: i64,
    /// Records left out.
    pub rejected: i64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Who produced it (full name).
    pub produced_by: String,
    /// When.
    pub produced_at: DateTime<Utc>,
}

/// What a case holds for the flows: its latest SINA and SINBA schemes.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct CaseInps {
    /// The latest SINA scheme (by date of assessment), if any.
    pub sina: Option<SinaAssessment>,
    /// The latest SINBA scheme, if any.
    pub sinba: Option<SinbaAssessment>,
}

/// Where a record comes from in the case file: enough to find and mend it, no
/// personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RecordRef {
    /// The person.
    pub person_id: i64,
    /// The case.
    pub case_id: i64,
    /// The intervention (PSA: one record per intervention; SINBA: none, one per child).
    pub intervention_id: Option<i64>,
    /// The intervention's service code.
    pub service_code: Option<String>,
}

/// Why a record cannot go into a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Reason {
    /// The element and attribute of the flow (`Anagrafica.CodiceCittadinanza`,
    /// `PrestazioniSociali.ImportoMensile`, `SINA.Mobilita`, `SINBA.LuogoVita`).
    pub field: String,
    /// A stable code: `required`, `pattern`, `length`, `not_one_of`, `xml_char`,
    /// `too_large`, `date_order`, `unknown_citizenship`, `periodic_needs`,
    /// `one_off_needs`, `presa_carico_needs_area`, `sina_needs`, `not_pseudonymous`,
    /// `not_a_minor`, `sinba_missing`, `unknown`.
    #[schema(value_type = String)]
    pub code: &'static str,
    /// What is wrong and what would be accepted (English).
    pub message: String,
}

/// A record left out of a flow, with every reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Rejected {
    /// The record.
    pub record: RecordRef,
    /// Every reason, field by field.
    pub reasons: Vec<Reason>,
}

/// The pre-send report: what a flow holds and what it leaves out, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// Which flow.
    pub kind: FlowKind,
    /// The ente (ISTAT code).
    pub ente: String,
    /// The period.
    pub period: Period,
    /// The records that pass (and are, or would be, in the flow).
    pub included: Vec<RecordRef>,
    /// The records that fail, each with every reason.
    pub rejected: Vec<Rejected>,
}

/// A flow produced: its file and its report.
#[derive(Debug, Clone)]
pub struct Flow {
    /// The flow id (`EEEE.PSA.INPS.yyyymmdd.nnnnnnn`).
    pub flow_id: String,
    /// The file name: the flow id and `.xml`.
    pub file_name: String,
    /// The XML, UTF-8.
    pub xml: Vec<u8>,
    /// What is in it and what was left out.
    pub report: Report,
}

impl Flow {
    /// The records in the file.
    pub fn included(&self) -> &[RecordRef] {
        &self.report.included
    }

    /// The records left out, with their reasons.
    pub fn rejected(&self) -> &[Rejected] {
        &self.report.rejected
    }
}

/// Splits records into those that pass and those rejected with their reasons.
pub fn check_psa(records: Vec<PsaRecord>) -> (Vec<PsaRecord>, Vec<Rejected>) {
    split(records, rules::psa_reasons, |r| r.source.clone())
}

/// Splits records into those that pass and those rejected with their reasons.
pub fn check_sinba(records: Vec<SinbaRecord>) -> (Vec<SinbaRecord>, Vec<Rejected>) {
    split(records, rules::sinba_reasons, |r| r.source.clone())
}

fn split<R>(records: Vec<R>, check: fn(&R) -> Vec<Reason>, source: fn(&R) -> RecordRef) -> (Vec<R>, Vec<Rejected>) {
    let mut ok = Vec::new();
    let mut rejected = Vec::new();
    for r in records {
        let reasons = check(&r);
        if reasons.is_empty() {
            ok.push(r);
        } else {
            rejected.push(Rejected { record: source(&r), reasons });
        }
    }
    (ok, rejected)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fields(e: CaseError) -> Vec<String> {
        match e {
            CaseError::Invalid(f) => f.into_iter().map(|f| f.code).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn periods_are_whole_months_up_to_a_year() {
        let p = Period::parse("2024-01-01", "2024-12-31").unwrap();
        assert_eq!((p.from.to_string(), p.to.to_string()), ("2024-01-01".into(), "2024-12-31".into()));
        assert!(Period::parse("2024-02-01", "2024-02-29").is_ok());
        assert_eq!(
            fields(Period::parse("2024-01-02", "2024-02-28").unwrap_err()),
            ["not_month_start", "not_month_end"]
        );
        assert_eq!(fields(Period::parse("2024-01-01", "2025-01-31").unwrap_err()), ["period_too_long"]);
        assert_eq!(fields(Period::parse("2024-03-01", "2024-01-31").unwrap_err()), ["before_start"]);
        assert_eq!(fields(Period::parse("", "x").unwrap_err()), ["required", "not_a_date"]);
    }

    #[test]
    fn the_last_full_quarter_ends_before_today() {
        let q = |y, m, d| {
            let p = Period::last_full_quarter(NaiveDate::from_ymd_opt(y, m, d).unwrap());
            (p.from.to_string(), p.to.to_string())
        };
        assert_eq!(q(2026, 11, 23), ("2026-07-01".into(), "2026-09-30".into()));
        assert_eq!(q(2026, 10, 1), ("2026-07-01".into(), "2026-09-30".into()));
        assert_eq!(q(2026, 9, 30), ("2026-04-01".into(), "2026-06-30".into()));
        assert_eq!(q(2027, 2, 14), ("2026-10-01".into(), "2026-12-31".into()));
        let p = Period::last_full_quarter(NaiveDate::from_ymd_opt(2026, 5, 5).unwrap());
        assert!(Period::parse(&p.from.to_string(), &p.to.to_string()).is_ok());
    }

    #[test]
    fn flow_ids_fit_the_xsd_name() {
        let day = NaiveDate::from_ymd_opt(2024, 7, 1).unwrap();
        let id = flow_id("ABCDEFGHIJKLMNOPQRSTUV", FlowKind::Sinba, day, 9_999_999);
        assert_eq!(id, "ABCDEFGHIJKLMNOPQRSTUV.SINBA.INPS.20240701.9999999");
        assert_eq!(id.len(), 50, "the longest code set-up accepts still fits Nome");
        assert_eq!(FlowKind::parse("PSA"), Some(FlowKind::Psa));
        assert_eq!(FlowKind::parse("sina"), None);
    }
}
