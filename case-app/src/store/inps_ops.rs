//! The operations of the INPS flows: set up an ente, record a case's SINA and SINBA
//! schemes and a benefit's means test, and produce a flow or its pre-send report.
//! Like [`super::ops`]: permission, scope, one transaction, an audit line.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::inps_sql::{FlowRow, InpsEnteRow, InpsOps, SinbaRow};
use super::sql::{AuditLine, Ops};
use super::{Store, read, tx};
use crate::inps::extract::{self, SinbaSources};
use crate::inps::records::{FlowHeader, PsaRecord, SinbaRecord};
use crate::inps::{
    BenefitMeans, BenefitMeansInput, CaseInps, Flow, FlowKind, InpsEnte, InpsEnteInput, Period, RegisteredFlow, Report,
    SinaAssessment, SinaInput, SinbaAssessment, SinbaInput, check_psa, check_sinba, codes, flow_id, rules, write,
};
use crate::model::{Actor, Case, Permission};
use crate::store::ops::today;
use crate::{CaseError, Result};

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn audit<'a>(
    actor: &'a Actor,
    action: &'a str,
    entity: &'a str,
    entity_id: Option<i64>,
    case_id: Option<i64>,
    ente: &'a str,
    detail: Option<String>,
) -> AuditLine<'a> {
    AuditLine { actor, action, entity, entity_id, case_id, ente: Some(ente), detail }
}

/// A case in the actor's scope and open, or the error the case operations give.
async fn open_case<C: Ops>(c: &mut C, actor: &Actor, id: i64) -> Result<Case> {
    let case = match c.case(id).await? {
        Some(k) if actor.sees(&k.ente) => k,
        _ => return Err(CaseError::NotFound("case")),
    };
    if case.status != "open" {
        return Err(CaseError::conflict(
            "case_closed",
            format!("case {id} was closed on {}", case.closed_on.unwrap_or_default()),
        ));
    }
    Ok(case)
}

/// An assessment dated before its case was opened.
fn before_case(on: chrono::NaiveDate, opened: chrono::NaiveDate) -> CaseError {
    CaseError::field_code(
        "assessed_on",
        "before_case",
        &[("date", on.to_string()), ("opened", opened.to_string())],
        format!("{on} is before the case was opened ({opened})"),
    )
}

fn sinba_of(row: SinbaRow) -> SinbaAssessment {
    SinbaAssessment {
        id: row.id,
        case_id: row.case_id,
        assessed_on: row.assessed_on,
        scheme: serde_json::from_str::<BTreeMap<String, String>>(&row.scheme).unwrap_or_default(),
        assessor_id: row.assessor_id,
        created_at: row.created_at,
    }
}

/// The records that passed the checks, ready to be written.
enum Passed {
    Psa(Vec<PsaRecord>),
    Sinba(Vec<SinbaRecord>),
}

impl Passed {
    fn write(&self, h: &FlowHeader) -> Vec<u8> {
        match self {
            Passed::Psa(r) => write::psa(h, r),
            Passed::Sinba(r) => write::sinba(h, r),
        }
    }
}

/// What one flow or report is built from.
struct Built {
    setup: InpsEnteRow,
    report: Report,
    passed: Passed,
}

impl Store {
    /// Sets up how an ente appears in its INPS flows (back office or coordinator).
    /// The pseudonym key of the SINBA child ids is drawn the first time and kept.
    pub async fn set_inps_ente(&self, actor: &Actor, ente: Option<&str>, input: &InpsEnteInput) -> Result<InpsEnte> {
        actor.require(Permission::InpsSend, "set up INPS flows")?;
        let ente = actor.ente_for(ente)?;
        let d = input.check()?;
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| CaseError::Internal(format!("random key: {e}")))?;
        let key = hex::encode(key);
        Ok(tx!(self, |c| {
            let t = now();
            c.inps_upsert_ente(&ente, &d, &key, actor.user_id, t).await?;
            let detail = format!("code {}, belfiore {}", d.code, d.belfiore);
            c.audit(audit(actor, "update", "inps_ente", None, None, &ente, Some(detail)), t).await?;
            c.inps_ente(&ente).await?.ok_or(CaseError::NotFound("ente"))?.public()
        }))
    }

    /// An ente's INPS set-up, if any.
    pub async fn inps_ente(&self, actor: &Actor, ente: Option<&str>) -> Result<Option<InpsEnte>> {
        actor.require(Permission::InpsSend, "set up INPS flows")?;
        let ente = actor.ente_for(ente)?;
        Ok(read!(self, |c| c.inps_ente(&ente).await?).map(|r| r.public()))
    }

    /// The register of the flows an ente produced, newest first (the latest 200).
    pub async fn inps_flows(&self, actor: &Actor, ente: Option<&str>) -> Result<Vec<RegisteredFlow>> {
        actor.require(Permission::InpsSend, "produce INPS flows")?;
        let ente = actor.ente_for(ente)?;
        Ok(read!(self, |c| c.inps_flows(&ente, 200).await?))
    }

    /// A case's latest SINA and SINBA schemes (for its page; the case file's read is
    /// audited by [`Store::case_file`]).
    pub async fn case_inps(&self, actor: &Actor, case_id: i64) -> Result<CaseInps> {
        actor.require(Permission::CaseRead, "read case files")?;
        Ok(read!(self, |c| {
            match c.case(case_id).await? {
                Some(case) if actor.sees(&case.ente) => {}
                _ => return Err(CaseError::NotFound("case")),
            }
            CaseInps { sina: c.inps_case_sina(case_id).await?, sinba: c.inps_case_sinba(case_id).await?.map(sinba_of) }
        }))
    }

    /// Records a case's SINA scheme (non-self-sufficiency), possibly in part.
    pub async fn record_sina(&self, actor: &Actor, case_id: i64, input: &SinaInput) -> Result<SinaAssessment> {
        actor.require(Permission::CaseWrite, "record assessments")?;
        let d = input.check(today())?;
        Ok(tx!(self, |c| {
            let case = open_case(c, actor, case_id).await?;
            if d.assessed_on < case.opened_on {
                return Err(before_case(d.assessed_on, case.opened_on));
            }
            let t = now();
            let id = c.inps_insert_sina(&case.ente, case_id, &d, actor.user_id, t).await?;
            c.touch_case(case_id, t).await?;
            c.audit(audit(actor, "create", "sina_assessment", Some(id), Some(case_id), &case.ente, None), t).await?;
            c.inps_sina(id).await?.ok_or(CaseError::NotFound("SINA assessment"))?
        }))
    }

    /// Records a child's SINBA scheme, possibly in part. Refused for an adult.
    pub async fn record_sinba(&self, actor: &Actor, case_id: i64, input: &SinbaInput) -> Result<SinbaAssessment> {
        actor.require(Permission::CaseWrite, "record assessments")?;
        let d = input.check(today())?;
        let scheme = serde_json::to_string(&d.scheme).map_err(|e| CaseError::Internal(e.to_string()))?;
        Ok(tx!(self, |c| {
            let case = open_case(c, actor, case_id).await?;
            if d.assessed_on < case.opened_on {
                return Err(before_case(d.assessed_on, case.opened_on));
            }
            let person = c.person(case.person_id).await?.ok_or(CaseError::NotFound("person"))?;
            if codes::age_on(person.birth_date, d.assessed_on) >= 18 {
                return Err(CaseError::conflict(
                    "not_a_minor",
                    format!(
                        "the person of case {case_id} was not a minor on {}; SINBA records children",
                        d.assessed_on
                    ),
                ));
            }
            let t = now();
            let id = c.inps_insert_sinba(&case.ente, case_id, d.assessed_on, &scheme, actor.user_id, t).await?;
            c.touch_case(case_id, t).await?;
            c.audit(audit(actor, "create", "sinba_assessment", Some(id), Some(case_id), &case.ente, None), t).await?;
            sinba_of(c.inps_sinba(id).await?.ok_or(CaseError::NotFound("SINBA assessment"))?)
        }))
    }

    /// Records (or replaces) the means test of a benefit: a social worker or the back
    /// office, who checks the DSU.
    pub async fn record_benefit_means(
        &self,
        actor: &Actor,
        intervention_id: i64,
        input: &BenefitMeansInput,
    ) -> Result<BenefitMeans> {
        if !actor.role.can(Permission::CaseWrite) && !actor.role.can(Permission::InpsSend) {
            return Err(CaseError::Forbidden("record means tests"));
        }
        let d = input.check(today())?;
        Ok(tx!(self, |c| {
            let i = c.intervention(intervention_id).await?.ok_or(CaseError::NotFound("intervention"))?;
            let case = match c.case(i.case_id).await? {
                Some(k) if actor.sees(&k.ente) => k,
                _ => return Err(CaseError::NotFound("intervention")),
            };
            let t = now();
            c.inps_upsert_benefit_means(&case.ente, intervention_id, &d, actor.user_id, t).await?;
            c.audit(audit(actor, "update", "benefit_means", Some(intervention_id), Some(case.id), &case.ente, None), t)
                .await?;
            c.inps_benefit_means(intervention_id).await?.ok_or(CaseError::NotFound("means test"))?
        }))
    }

    /// The pre-send report of a flow: the records it would hold and those it would
    /// leave out, with every reason. Nothing is numbered; the read is audited.
    pub async fn inps_report(
        &self,
        actor: &Actor,
        kind: FlowKind,
        ente: Option<&str>,
        period: Period,
    ) -> Result<Report> {
        actor.require(Permission::InpsSend, "produce INPS flows")?;
        let ente = actor.ente_for(ente)?;
        Ok(tx!(self, |c| {
            let built = build(c, kind, &ente, period).await?;
            let r = &built.report;
            let detail = format!(
                "{} report {} – {}: {} records pass, {} fail",
                kind.code(),
                period.from,
                period.to,
                r.included.len(),
                r.rejected.len()
            );
            c.audit(audit(actor, "report", "inps_flow", None, None, &ente, Some(detail)), now()).await?;
            built.report
        }))
    }

    /// Produces a flow for an ente and a period: the records that pass the rules,
    /// written as XML under a new flow id, and the pre-send report. Refused when no
    /// record would be sent (nothing is numbered then). The flow is registered with
    /// its checksum, and the audit says who produced which flow id.
    pub async fn inps_flow(&self, actor: &Actor, kind: FlowKind, ente: Option<&str>, period: Period) -> Result<Flow> {
        actor.require(Permission::InpsSend, "produce INPS flows")?;
        let ente = actor.ente_for(ente)?;
        Ok(tx!(self, |c| {
            c.inps_lock_ente(&ente).await?;
            let built = build(c, kind, &ente, period).await?;
            let (ok, failed) = (built.report.included.len(), built.report.rejected.len());
            if ok == 0 && failed == 0 {
                return Err(CaseError::conflict(
                    "inps_no_records",
                    format!(
                        "ente {ente} delivered no benefit to send in the {} flow for {} – {}",
                        kind.code(),
                        period.from,
                        period.to
                    ),
                ));
            }
            if ok == 0 {
                return Err(CaseError::conflict(
                    "inps_all_rejected",
                    format!(
                        "every one of the {failed} records of the {} flow for {} – {} fails the checks, so there is no \
                         flow to send; the pre-send report says why",
                        kind.code(),
                        period.from,
                        period.to
                    ),
                ));
            }
            let t = now();
            let number = c.inps_next_flow_number(&ente, kind.code()).await?;
            if number > 9_999_999 {
                return Err(CaseError::conflict("inps_numbers_exhausted", "the flow number would exceed 7 digits"));
            }
            let id = flow_id(&built.setup.code, kind, t.date_naive(), number);
            let header = FlowHeader {
                flow_id: id.clone(),
                code: built.setup.code.clone(),
                name: Some(built.setup.name.clone()),
                belfiore: built.setup.belfiore.clone(),
                operator_cf: built.setup.operator_cf.clone(),
            };
            let problems = rules::header_reasons(&header);
            if !problems.is_empty() {
                let why: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect();
                return Err(CaseError::conflict(
                    "inps_setup_invalid",
                    format!("the ente's INPS set-up: {}", why.join("; ")),
                ));
            }
            let xml = built.passed.write(&header);
            let sha = hex::encode(Sha256::digest(&xml));
            let row = FlowRow {
                ente: &ente,
                kind: kind.code(),
                seq: number,
                flow_id: &id,
                from: period.from,
                to: period.to,
                included: ok as i64,
                rejected: failed as i64,
                sha256: &sha,
            };
            let flow_row = c.inps_insert_flow(&row, actor.user_id, t).await?;
            let detail =
                format!("{id}: {ok} records, {failed} left out, {} – {}, sha256 {sha}", period.from, period.to);
            c.audit(audit(actor, "produce", "inps_flow", Some(flow_row), None, &ente, Some(detail)), t).await?;
            Flow { file_name: format!("{id}.xml"), flow_id: id, xml, report: built.report }
        }))
    }
}

/// Reads the ente's set-up and the period's data, builds the records and checks them.
async fn build<C: Ops + InpsOps>(c: &mut C, kind: FlowKind, ente: &str, period: Period) -> Result<Built> {
    let setup = c.inps_ente(ente).await?.ok_or_else(|| {
        CaseError::conflict(
            "inps_not_configured",
            format!("ente {ente} has no INPS set-up yet (INPS code, cadastral code, operator's fiscal code)"),
        )
    })?;
    let rows = c.inps_benefit_rows(ente, period.from, period.to).await?;
    let (included, rejected, passed) = match kind {
        FlowKind::Psa => {
            let sina = c.inps_latest_sina(ente, period.to).await?;
            let (ok, rejected) = check_psa(extract::psa_records(ente, period, &rows, &sina));
            (ok.iter().map(|r| r.source.clone()).collect(), rejected, Passed::Psa(ok))
        }
        FlowKind::Sinba => {
            let schemes: Vec<SinbaAssessment> =
                c.inps_latest_sinba(ente, period.to).await?.into_iter().map(sinba_of).collect();
            let members = c.inps_household_members(ente, period.from, period.to).await?;
            let first_reports = c.inps_first_reports(ente, period.from, period.to).await?;
            let key = hex::decode(&setup.pseudonym_key)
                .map_err(|e| CaseError::Internal(format!("ente {ente}: pseudonym key: {e}")))?;
            let src = SinbaSources { schemes: &schemes, members: &members, first_reports: &first_reports, key: &key };
            let (ok, rejected) = check_sinba(extract::sinba_records(period, &rows, &src));
            (ok.iter().map(|r| r.source.clone()).collect(), rejected, Passed::Sinba(ok))
        }
    };
    let report = Report { kind, ente: ente.to_owned(), period, included, rejected };
    Ok(Built { setup, report, passed })
}
