//! The two services citizens apply for online, their rules in one place, the checking
//! of a submission field by field, the automatic checks and the decision they lead to.
//!
//! Everything here is pure: the store gathers the facts (is the applicant resident, is
//! there an earlier application) and these functions turn them into check results and a
//! status, so the rules can be read and tested without a database.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::Checker;
use crate::input::{flex, parse_euros};
use crate::{CaseError, Result};

/// A service a citizen may apply for online.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// Income support (sostegno al reddito), on ADI-like rules: an ISEE threshold and a
    /// back-office evaluation of the household.
    IncomeSupport,
    /// The disability parking permit (contrassegno unificato disabili europeo, CUDE).
    ParkingPermit,
}

impl Service {
    /// Every service, in the order pages list them.
    pub const ALL: [Service; 2] = [Service::ParkingPermit, Service::IncomeSupport];

    /// The stable code stored in the database and used in paths.
    pub fn code(self) -> &'static str {
        match self {
            Service::IncomeSupport => "income_support",
            Service::ParkingPermit => "parking_permit",
        }
    }

    /// The service with this code.
    pub fn parse(code: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.code() == code.trim())
    }

    /// The rules of this service.
    pub fn rules(self) -> &'static ServiceRules {
        match self {
            Service::IncomeSupport => &INCOME_SUPPORT,
            Service::ParkingPermit => &PARKING_PERMIT,
        }
    }
}

/// What a service requires and how far its decision may be automatic. The two
/// services' values are [`INCOME_SUPPORT`] and [`PARKING_PERMIT`]; a comune changing a
/// threshold changes it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRules {
    /// The service.
    pub service: Service,
    /// The highest ISEE admitted, in euro cents; `None`: no ISEE condition (and the
    /// form does not ask for it).
    pub isee_max_cents: Option<i64>,
    /// An ISEE this close under the threshold (cents) is checked by hand against the
    /// INPS attestation before a decision: the check says `review`.
    pub isee_review_band_cents: i64,
    /// Whether the form asks the date of a medical certificate, and how old (days) it may
    /// be for an automatic decision; older goes to review.
    pub certificate_max_age_days: Option<i64>,
    /// Document kinds that must be uploaded.
    pub required_documents: &'static [&'static str],
    /// Document kinds that may be uploaded besides.
    pub optional_documents: &'static [&'static str],
    /// An application of the same service for the same person and ente submitted within
    /// this many days, still open or approved, makes a new one a duplicate.
    pub validity_days: i64,
    /// Whether passing every check approves the application at once; otherwise it waits
    /// for the back office.
    pub automatic_approval: bool,
}

/// Income support: ISEE at most €9,360 (the ADI threshold), €500 under it checked by
/// hand; the ISEE attestation uploaded; one a year; always evaluated by the back office
/// (the household's situation is more than the ISEE says), unless a check fails.
pub const INCOME_SUPPORT: ServiceRules = ServiceRules {
    service: Service::IncomeSupport,
    isee_max_cents: Some(936_000),
    isee_review_band_cents: 50_000,
    certificate_max_age_days: None,
    required_documents: &["isee_attestation"],
    optional_documents: &["identity_document", "other"],
    validity_days: 365,
    automatic_approval: false,
};

/// Disability parking permit: no ISEE condition; a medical certificate of reduced
/// mobility uploaded, issued within 90 days (older is checked by hand); valid five
/// years; approved at once when the applicant is resident and has no permit already.
pub const PARKING_PERMIT: ServiceRules = ServiceRules {
    service: Service::ParkingPermit,
    isee_max_cents: None,
    isee_review_band_cents: 0,
    certificate_max_age_days: Some(90),
    required_documents: &["medical_certificate"],
    optional_documents: &["identity_document", "other"],
    validity_days: 5 * 365,
    automatic_approval: true,
};

/// Each uploaded document at most this many bytes (as case documents).
pub const MAX_APPLICATION_DOCUMENT_BYTES: usize = crate::MAX_DOCUMENT_BYTES;
/// A whole submission (fields and files) at most this many bytes.
pub const MAX_SUBMISSION_BYTES: usize = 3 * MAX_APPLICATION_DOCUMENT_BYTES;

impl ServiceRules {
    /// Every document kind the service accepts.
    pub fn document_kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.required_documents.iter().chain(self.optional_documents).copied()
    }
}

/// An application as entered: every field text (from a form or a multipart body).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ApplicationInput {
    /// `parking_permit` or `income_support`.
    #[serde(default, deserialize_with = "flex")]
    pub service: Option<String>,
    /// Where notifications go.
    #[serde(default, deserialize_with = "flex")]
    pub email: Option<String>,
    /// A phone number, optional.
    #[serde(default, deserialize_with = "flex")]
    pub phone: Option<String>,
    /// The ISEE of the household in euros (`8450,00`), for income support.
    #[serde(default, deserialize_with = "flex")]
    pub isee: Option<String>,
    /// Members of the household, for income support.
    #[serde(default, deserialize_with = "flex")]
    pub household_members: Option<String>,
    /// The date the medical certificate was issued (`YYYY-MM-DD`), for the parking permit.
    #[serde(default, deserialize_with = "flex")]
    pub certificate_issued_on: Option<String>,
}

/// A document uploaded with an application (form field `doc_<kind>`).
#[derive(Debug, Clone, Default)]
pub struct Upload {
    /// The document kind (`medical_certificate`, `isee_attestation`, ...).
    pub kind: String,
    /// The file name as sent.
    pub filename: String,
    /// The MIME type as sent.
    pub content_type: String,
    /// The bytes.
    pub content: Vec<u8>,
}

/// A checked application, ready to be stored.
#[derive(Debug, Clone)]
pub struct ApplicationData {
    /// The service.
    pub service: Service,
    /// E-mail for notifications.
    pub email: String,
    /// Phone.
    pub phone: Option<String>,
    /// ISEE, cents (income support).
    pub isee_cents: Option<i64>,
    /// Household members (income support).
    pub household_members: Option<i64>,
    /// Date of the medical certificate (parking permit).
    pub certificate_issued_on: Option<NaiveDate>,
    /// The documents, each checked.
    pub documents: Vec<Upload>,
}

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// Whether `text` looks like an e-mail address: one `@`, a dot in the domain, no spaces.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else { return false };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace)
}

impl ApplicationInput {
    /// Checks every field and document against the service's rules; fails with every
    /// problem at once (documents as `doc_<kind>`).
    pub fn check(&self, uploads: Vec<Upload>, today: NaiveDate) -> Result<ApplicationData> {
        let mut c = Checker::default();
        let codes: Vec<&str> = Service::ALL.iter().map(|s| s.code()).collect();
        let service = Service::parse(s(&self.service));
        if service.is_none() {
            c.one_of("service", s(&self.service), &codes);
        }
        let email = c.text("email", s(&self.email), 200);
        if !email.is_empty() && !is_email(&email) {
            c.fail("email", "not_an_email", &[("value", email.clone())], format!("'{email}' is not an e-mail address"));
        }
        let phone = c.optional_text("phone", self.phone.as_deref(), 40);
        let Some(service) = service else {
            c.finish()?;
            return Err(CaseError::field("service", "unknown service"));
        };
        let rules = service.rules();
        let mut isee_cents = None;
        let mut household_members = None;
        if rules.isee_max_cents.is_some() {
            let text = s(&self.isee).trim();
            match parse_euros(text) {
                _ if text.is_empty() => c.fail("isee", "required", &[], "required (euros, e.g. 8450,00)"),
                Some(v) => isee_cents = Some(v),
                None => c.fail(
                    "isee",
                    "not_euros",
                    &[("value", text.to_owned())],
                    format!("'{text}' is not an amount in euros"),
                ),
            }
            let text = s(&self.household_members).trim();
            match text.parse::<i64>() {
                _ if text.is_empty() => c.fail("household_members", "required", &[], "required"),
                Ok(n) if (1..=20).contains(&n) => household_members = Some(n),
                _ => c.fail(
                    "household_members",
                    "not_in_range",
                    &[("value", text.to_owned()), ("min", "1".into()), ("max", "20".into())],
                    format!("'{text}' is not a number from 1 to 20"),
                ),
            }
        }
        let mut certificate_issued_on = None;
        if rules.certificate_max_age_days.is_some() {
            match c.date("certificate_issued_on", s(&self.certificate_issued_on)) {
                Some(d) if d > today => c.fail(
                    "certificate_issued_on",
                    "future_date",
                    &[("date", d.to_string())],
                    format!("{d} is in the future"),
                ),
                Some(d) => certificate_issued_on = Some(d),
                None => {}
            }
        }
        let mut documents: Vec<Upload> = Vec::new();
        for u in uploads {
            // A file input left empty arrives as a part without name or bytes.
            if u.filename.is_empty() && u.content.is_empty() {
                continue;
            }
            let field = format!("doc_{}", u.kind);
            if !rules.document_kinds().any(|k| k == u.kind) {
                c.fail(
                    &field,
                    "not_one_of",
                    &[("value", u.kind.clone())],
                    format!(
                        "'{}' is not a document of this service: {}",
                        u.kind,
                        rules.document_kinds().collect::<Vec<_>>().join(", ")
                    ),
                );
                continue;
            }
            if documents.iter().any(|d| d.kind == u.kind) {
                c.fail(&field, "one_file", &[], "one file per document");
                continue;
            }
            if u.content.is_empty() {
                c.fail(&field, "empty_file", &[], "the file is empty");
            } else if u.content.len() > MAX_APPLICATION_DOCUMENT_BYTES {
                let mb = (MAX_APPLICATION_DOCUMENT_BYTES >> 20).to_string();
                c.fail(&field, "file_too_large", &[("max", mb.clone())], format!("larger than {mb} MB"));
            }
            let name = u.filename.rsplit(['/', '\\']).next().unwrap_or("").trim().to_owned();
            if name.chars().count() > 200 {
                c.fail(&field, "too_long", &[("max", "200".into())], "file name: at most 200 characters");
            }
            let name = if name.is_empty() { format!("{}.bin", u.kind) } else { name };
            let content_type =
                if u.content_type.is_empty() { "application/octet-stream".into() } else { u.content_type };
            documents.push(Upload { kind: u.kind, filename: name, content_type, content: u.content });
        }
        for kind in rules.required_documents {
            if !documents.iter().any(|d| d.kind == *kind) && !c.has(&format!("doc_{kind}")) {
                c.fail(format!("doc_{kind}"), "document_required", &[], format!("upload the {kind}"));
            }
        }
        c.finish()?;
        Ok(ApplicationData { service, email, phone, isee_cents, household_members, certificate_issued_on, documents })
    }
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The condition holds.
    Pass,
    /// The condition does not hold: the application is rejected.
    Fail,
    /// Not decidable automatically: the back office looks.
    Review,
}

impl Outcome {
    /// `pass`, `fail`, `review`.
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Review => "review",
        }
    }

    /// The outcome with this code.
    pub fn parse(code: &str) -> Option<Outcome> {
        [Outcome::Pass, Outcome::Fail, Outcome::Review].into_iter().find(|o| o.code() == code)
    }
}

/// The result of one automatic check, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// `completeness`, `residence`, `duplicate`, `isee`, `certificate`.
    pub name: &'static str,
    /// How it came out.
    pub outcome: Outcome,
    /// The detail's code: the catalogue words it as `chk_<code>`.
    pub code: &'static str,
    /// The values the detail names.
    pub params: BTreeMap<String, String>,
}

fn check(name: &'static str, outcome: Outcome, code: &'static str, params: &[(&str, String)]) -> CheckResult {
    CheckResult { name, outcome, code, params: params.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect() }
}

/// The facts the store found for an application.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The ente applied to.
    pub ente: &'a str,
    /// The applicant's fiscal code.
    pub fiscal_code: &'a str,
    /// Whether the registry has the fiscal code as a resident of the ente (not merged).
    pub resident: bool,
    /// Earlier applications of the same service that make this one a duplicate.
    pub duplicates: &'a [i64],
    /// Today.
    pub today: NaiveDate,
}

/// Money as `9.360,00 €`.
pub fn euros_it(cents: i64) -> String {
    let euros = cents / 100;
    let mut int = euros.to_string();
    let mut i = int.len();
    while i > 3 {
        i -= 3;
        int.insert(i, '.');
    }
    format!("{int},{:02} €", cents % 100)
}

/// Runs the automatic checks of an application on the facts found.
pub fn run_checks(d: &ApplicationData, f: &Facts<'_>) -> Vec<CheckResult> {
    let rules = d.service.rules();
    let mut out = Vec::new();
    let kinds: Vec<&str> = d.documents.iter().map(|u| u.kind.as_str()).collect();
    out.push(check("completeness", Outcome::Pass, "complete", &[("documents", kinds.join(", "))]));
    out.push(if f.resident {
        check("residence", Outcome::Pass, "resident", &[("ente", f.ente.to_owned())])
    } else {
        check(
            "residence",
            Outcome::Fail,
            "not_resident",
            &[("fiscal_code", f.fiscal_code.to_owned()), ("ente", f.ente.to_owned())],
        )
    });
    out.push(match f.duplicates.first() {
        None => check("duplicate", Outcome::Pass, "no_duplicate", &[("days", rules.validity_days.to_string())]),
        Some(id) => check(
            "duplicate",
            Outcome::Fail,
            "duplicate_of",
            &[("id", id.to_string()), ("days", rules.validity_days.to_string())],
        ),
    });
    if let (Some(max), Some(isee)) = (rules.isee_max_cents, d.isee_cents) {
        let p = [("isee", euros_it(isee)), ("max", euros_it(max))];
        out.push(match isee {
            _ if isee > max => check("isee", Outcome::Fail, "isee_over", &p),
            _ if isee > max - rules.isee_review_band_cents => check("isee", Outcome::Review, "isee_near", &p),
            _ => check("isee", Outcome::Pass, "isee_under", &p),
        });
    }
    if let (Some(max_age), Some(issued)) = (rules.certificate_max_age_days, d.certificate_issued_on) {
        let age = (f.today - issued).num_days();
        let p = [("date", issued.to_string()), ("days", max_age.to_string())];
        out.push(if age <= max_age {
            check("certificate", Outcome::Pass, "certificate_recent", &p)
        } else {
            check("certificate", Outcome::Review, "certificate_old", &p)
        });
    }
    out
}

/// The reason given when a service always waits for the back office.
pub const EVALUATION_REASON: &str = "evaluation_required";

/// The status the checks lead to, and why: any failed check rejects (its codes are the
/// reasons); otherwise a check to review, or a service without automatic approval,
/// sends the application to the back office; otherwise it is approved.
pub fn decide(service: Service, checks: &[CheckResult]) -> (&'static str, Vec<String>) {
    let failed: Vec<String> = checks.iter().filter(|c| c.outcome == Outcome::Fail).map(|c| c.code.to_owned()).collect();
    if !failed.is_empty() {
        return ("auto_rejected", failed);
    }
    let mut review: Vec<String> =
        checks.iter().filter(|c| c.outcome == Outcome::Review).map(|c| c.code.to_owned()).collect();
    if !service.rules().automatic_approval {
        review.push(EVALUATION_REASON.to_owned());
    }
    if review.is_empty() { ("auto_approved", Vec::new()) } else { ("in_review", review) }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn upload(kind: &str) -> Upload {
        Upload {
            kind: kind.into(),
            filename: format!("{kind}.pdf"),
            content_type: "application/pdf".into(),
            content: b"%PDF".to_vec(),
        }
    }

    fn parking() -> ApplicationInput {
        ApplicationInput {
            service: Some("parking_permit".into()),
            email: Some("a@b.it".into()),
            certificate_issued_on: Some("2026-01-10".into()),
            ..Default::default()
        }
    }

    fn facts<'a>(resident: bool, duplicates: &'a [i64]) -> Facts<'a> {
        Facts { ente: "015146", fiscal_code: "X", resident, duplicates, today: day("2026-02-01") }
    }

    #[test]
    fn every_missing_field_and_document_is_named() {
        let input = ApplicationInput {
            service: Some("income_support".into()),
            isee: Some("dieci".into()),
            ..Default::default()
        };
        let Err(CaseError::Invalid(errors)) = input.check(vec![], day("2026-02-01")) else { panic!() };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "isee", "household_members", "doc_isee_attestation"]);
        assert_eq!(errors[1].code, "not_euros");
        let Err(CaseError::Invalid(errors)) = parking().check(vec![upload("isee_attestation")], day("2026-02-01"))
        else {
            panic!()
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["doc_isee_attestation", "doc_medical_certificate"]);
    }

    #[test]
    fn a_parking_permit_with_everything_in_order_is_approved() {
        let d = parking().check(vec![upload("medical_certificate")], day("2026-02-01")).unwrap();
        let checks = run_checks(&d, &facts(true, &[]));
        assert_eq!(decide(d.service, &checks), ("auto_approved", vec![]));
        let checks = run_checks(&d, &facts(false, &[7]));
        assert_eq!(decide(d.service, &checks).0, "auto_rejected");
        assert_eq!(decide(d.service, &checks).1, ["not_resident", "duplicate_of"]);
        // An old certificate is looked at by hand.
        let mut old = parking();
        old.certificate_issued_on = Some("2025-06-01".into());
        let d = old.check(vec![upload("medical_certificate")], day("2026-02-01")).unwrap();
        assert_eq!(
            decide(d.service, &run_checks(&d, &facts(true, &[]))),
            ("in_review", vec!["certificate_old".into()])
        );
    }

    #[test]
    fn income_support_follows_the_isee_threshold() {
        let at = |isee: &str| {
            let input = ApplicationInput {
                service: Some("income_support".into()),
                email: Some("a@b.it".into()),
                isee: Some(isee.into()),
                household_members: Some("3".into()),
                ..Default::default()
            };
            let d = input.check(vec![upload("isee_attestation")], day("2026-02-01")).unwrap();
            let checks = run_checks(&d, &facts(true, &[]));
            decide(d.service, &checks)
        };
        assert_eq!(at("5000"), ("in_review", vec![EVALUATION_REASON.to_owned()]));
        assert_eq!(at("9000,00"), ("in_review", vec!["isee_near".to_owned(), EVALUATION_REASON.to_owned()]));
        assert_eq!(at("9360"), ("in_review", vec!["isee_near".to_owned(), EVALUATION_REASON.to_owned()]));
        assert_eq!(at("9360,01"), ("auto_rejected", vec!["isee_over".to_owned()]));
    }

    #[test]
    fn euros_read_the_italian_way() {
        assert_eq!(euros_it(936_000), "9.360,00 €");
        assert_eq!(euros_it(5), "0,05 €");
        assert_eq!(euros_it(123_456_789), "1.234.567,89 €");
    }
}
