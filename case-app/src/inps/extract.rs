//! From the rows of the case database (`store/inps_sql.rs`) to the records of the
//! flows: the codings of [`super::codes`] applied, the period's months counted, the
//! SINA and SINBA schemes attached, the child's family read from the household.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;

use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use mosaico_domain::AreaUtenza;
use sha2::Sha256;

use super::codes::{self, Character};
use super::records::{Beneficiary, Benefit, PsaRecord, Sina, SinbaRecord};
use super::{Period, RecordRef, SinaAssessment, SinbaAssessment};
use crate::store::inps_sql::{BenefitRow, FirstReport, MemberRow};

/// The SINBA pseudonym of a child: HMAC-SHA-256 of the fiscal code under the ente's
/// key, the first 20 hex characters (80 bits). Stable across flows, not reversible
/// without the key, different in every ente.
pub fn child_pseudonym(key: &[u8], fiscal_code: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return String::new() };
    mac.update(fiscal_code.trim().to_ascii_uppercase().as_bytes());
    let mut id = hex::encode(mac.finalize().into_bytes());
    id.truncate(20);
    id
}

fn code_text(n: Option<i64>) -> Option<String> {
    n.map(|n| n.to_string())
}

fn means_code(n: i64) -> Option<&'static str> {
    match n {
        1 => Some("1"),
        2 => Some("2"),
        3 => Some("3"),
        4 => Some("4"),
        _ => None,
    }
}

fn means_default(m: u8) -> &'static str {
    means_code(i64::from(m)).unwrap_or("4")
}

fn beneficiary(r: &BenefitRow) -> Beneficiary {
    Beneficiary {
        fiscal_code: r.fiscal_code.clone(),
        surname: r.surname.clone(),
        given_name: r.given_name.clone(),
        birth_year: chrono::Datelike::year(&r.birth_date),
        birth_place: if r.temporary_code { None } else { codes::birth_place(&r.fiscal_code) },
        sex: match r.sex.as_str() {
            "M" => Some("1"),
            "F" => Some("2"),
            _ => None,
        },
        citizenship: codes::country_code(&r.citizenship),
        citizenship_text: r.citizenship.clone(),
        residence_comune: Some(r.residence_istat.clone()),
        residence_country: codes::ITALY,
    }
}

/// Whether a row is delivered in the period: a one-off on a day of it, anything else
/// overlapping it (the query already selected overlapping rows).
fn delivered(r: &BenefitRow, period: Period) -> bool {
    let one_off = codes::benefit(&r.service_code).map_or(r.unit == "una_tantum", |b| b.character == Character::OneOff);
    !one_off || (period.from..=period.to).contains(&r.start_date)
}

fn sina_block(s: &SinaAssessment, needs: Vec<String>) -> Sina {
    Sina {
        needs,
        invalidity: s.invalidity.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect(),
        mobility: code_text(s.mobility),
        daily_living: code_text(s.daily_living),
        cognitive: code_text(s.cognitive),
        behaviour: code_text(s.behaviour),
        health_care: code_text(s.health_care),
        income: code_text(s.income),
        support: code_text(s.support),
        source: code_text(s.source),
        instrument: code_text(s.instrument),
        invalidity_source: code_text(s.invalidity_source),
    }
}

/// The PSA records of the period, one per intervention, in person order.
pub(crate) fn psa_records(ente: &str, period: Period, rows: &[BenefitRow], sina: &[SinaAssessment]) -> Vec<PsaRecord> {
    let rows: Vec<&BenefitRow> = rows.iter().filter(|r| delivered(r, period)).collect();
    let sina: HashMap<i64, &SinaAssessment> = sina.iter().map(|s| (s.case_id, s)).collect();
    let mut needs: HashMap<i64, BTreeSet<String>> = HashMap::new();
    for r in &rows {
        if let Some(b) = codes::benefit(&r.service_code) {
            needs.entry(r.case_id).or_default().insert(b.code.to_owned());
        }
    }
    rows.iter()
        .map(|r| {
            let inps = codes::benefit(&r.service_code);
            let character = inps
                .map_or(if r.unit == "una_tantum" { Character::OneOff } else { Character::Periodic }, |b| b.character);
            let periodic = character == Character::Periodic;
            let end = r.end_date.unwrap_or(r.plan_end);
            let name = inps
                .map(|b| b.name.to_owned())
                .or_else(|| mosaico_domain::services::service(&r.service_code).map(|s| s.name.to_owned()));
            let benefit = Benefit {
                code: inps.map(|b| b.code),
                name: name.unwrap_or_else(|| r.service_code.clone()),
                request_ref: format!("{ente}-{}-{}", r.case_id, r.intervention_id),
                character,
                means_test: r
                    .means_test
                    .and_then(means_code)
                    .unwrap_or_else(|| inps.map_or("4", |b| means_default(b.means_test))),
                dsu_protocol: r.dsu_protocol.clone(),
                dsu_date: r.dsu_date,
                start: periodic.then_some(r.start_date),
                end: periodic.then_some(end),
                months: periodic.then(|| codes::months_touched(r.start_date.max(period.from), end.min(period.to))),
                monthly_cents: periodic.then_some(r.amount_cents),
                date: (!periodic).then_some(r.start_date),
                amount_cents: (!periodic).then_some(r.amount_cents),
                quota_ente_cents: Some(r.quota_ente_cents),
                quota_utente_cents: Some(r.quota_utente_cents),
                quota_ssn_cents: Some(r.quota_ssn_cents),
                monthly_hours: (periodic && r.unit == "ora").then(|| r.quantity.round() as i64),
                taken_in_charge: true,
                area: AreaUtenza::from_str(&r.area).ok().and_then(codes::area_utenza),
                area_text: r.area.clone(),
                sina: sina.get(&r.case_id).map(|s| {
                    sina_block(s, needs.get(&r.case_id).map(|n| n.iter().cloned().collect()).unwrap_or_default())
                }),
            };
            PsaRecord {
                source: RecordRef {
                    person_id: r.person_id,
                    case_id: r.case_id,
                    intervention_id: Some(r.intervention_id),
                    service_code: Some(r.service_code.clone()),
                },
                beneficiary: beneficiary(r),
                benefit,
                problems: Vec::new(),
            }
        })
        .collect()
}

/// The code of a household member for a child: `ComposizioneFamiglia` 1 mother,
/// 2 father, 3 sibling, 4 grandparent, 5 a parent's partner, 6 other. Parents,
/// siblings and grandparents are told apart only for a child registered as a son or
/// daughter (`figlio/a`) of the household; otherwise everyone is "other".
fn family_code(child_is_child: bool, member_role: &str, member_sex: &str) -> &'static str {
    let role = member_role.trim().to_lowercase();
    match role.as_str() {
        "intestatario" | "intestataria" | "coniuge" if child_is_child => {
            if member_sex == "F" {
                "1"
            } else {
                "2"
            }
        }
        r if r.starts_with("figli") && child_is_child => "3",
        "genitore" if child_is_child => "4",
        "convivente" | "compagno" | "compagna" | "partner" if child_is_child => "5",
        _ => "6",
    }
}

/// Inputs of [`sinba_records`] beyond the benefit rows.
pub(crate) struct SinbaSources<'a> {
    pub schemes: &'a [SinbaAssessment],
    pub members: &'a [MemberRow],
    pub first_reports: &'a [FirstReport],
    pub key: &'a [u8],
}

/// The SINBA records of the period: one per child under 18 at its start.
pub(crate) fn sinba_records(period: Period, rows: &[BenefitRow], src: &SinbaSources<'_>) -> Vec<SinbaRecord> {
    let rows: Vec<&BenefitRow> =
        rows.iter().filter(|r| delivered(r, period) && codes::age_on(r.birth_date, period.from) < 18).collect();
    let mut persons: Vec<i64> = Vec::new();
    for r in &rows {
        if !persons.contains(&r.person_id) {
            persons.push(r.person_id);
        }
    }
    let first: HashMap<i64, NaiveDate> = src.first_reports.iter().map(|f| (f.person_id, f.first_on)).collect();
    persons
        .into_iter()
        .filter_map(|person| {
            let mine: Vec<&BenefitRow> = rows.iter().copied().filter(|r| r.person_id == person).collect();
            let child = *mine.first()?;
            let cases: BTreeSet<i64> = mine.iter().map(|r| r.case_id).collect();
            let scheme =
                src.schemes.iter().filter(|s| cases.contains(&s.case_id)).max_by_key(|s| (s.assessed_on, s.id));
            let case_id = scheme.map_or_else(|| cases.iter().max().copied().unwrap_or(child.case_id), |s| s.case_id);
            let benefits: BTreeSet<String> =
                mine.iter().filter_map(|r| codes::benefit(&r.service_code)).map(|b| b.code.to_owned()).collect();
            let child_is_child =
                child.household_role.as_deref().is_some_and(|r| r.trim().to_lowercase().starts_with("figli"));
            let mut family = BTreeSet::new();
            let (mut mother, mut father) = (None, None);
            if let Some(h) = child.household_id {
                for m in src.members.iter().filter(|m| m.household_id == h && m.id != person) {
                    let c = family_code(child_is_child, m.household_role.as_deref().unwrap_or(""), &m.sex);
                    match c {
                        "1" => mother = mother.or(codes::country_code(&m.citizenship)),
                        "2" => father = father.or(codes::country_code(&m.citizenship)),
                        _ => {}
                    }
                    family.insert(c.to_owned());
                }
            }
            let opened = mine.iter().map(|r| r.case_opened_on).min();
            let first_report = [first.get(&person).copied(), opened].into_iter().flatten().min();
            let isee = mine.iter().filter(|r| r.isee_cents.is_some()).max_by_key(|r| (r.dsu_date, r.intervention_id));
            let scheme_map: Option<BTreeMap<String, String>> = scheme.map(|s| s.scheme.clone());
            Some(SinbaRecord {
                source: RecordRef { person_id: person, case_id, intervention_id: None, service_code: None },
                child_id: child_pseudonym(src.key, &child.fiscal_code),
                benefits: benefits.into_iter().collect(),
                family: family.into_iter().collect(),
                birth_year: chrono::Datelike::year(&child.birth_date),
                age_band: codes::age_band(codes::age_on(child.birth_date, period.from)),
                residence_country: codes::ITALY,
                first_report: first_report.map(|d| d.format("%m/%Y").to_string()),
                father_citizenship: father,
                mother_citizenship: mother,
                isee_band: isee.and_then(|r| r.isee_cents).map(codes::isee_band),
                isee_members: isee.and_then(|r| r.isee_members),
                scheme: scheme_map,
                problems: Vec::new(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_keyed_and_short() {
        let a = child_pseudonym(b"key one", "RSSMRA10A01F205X");
        assert_eq!(a.len(), 20);
        assert_eq!(a, child_pseudonym(b"key one", " rssmra10a01f205x"));
        assert_ne!(a, child_pseudonym(b"key two", "RSSMRA10A01F205X"));
        assert!(!a.contains("RSSMRA"));
    }

    #[test]
    fn family_roles() {
        assert_eq!(family_code(true, "intestataria", "F"), "1");
        assert_eq!(family_code(true, "Coniuge", "M"), "2");
        assert_eq!(family_code(true, "figlio/a", "M"), "3");
        assert_eq!(family_code(true, "genitore", "F"), "4");
        assert_eq!(family_code(true, "convivente", "M"), "5");
        assert_eq!(family_code(true, "altro", "M"), "6");
        assert_eq!(family_code(false, "intestatario", "M"), "6");
    }
}
