//! Residential care (*residenzialità*): from a social worker's request for a place to a
//! month's payment certificate.
//!
//! ```text
//!  social worker: placement request (case, facility type, need, household situation)
//!      │  status documents ── back office verifies ISEE, medical assessment, consent
//!      ▼
//!  waiting (graduatoria per ente and facility type), ranked by a transparent score:
//!      score = 100 × (w_need·need/100 + w_wait·min(days, cap)/cap + w_hh·household/4) / Σw
//!      │  back office admits into a facility with a free place
//!      ▼
//!  stay: admitted ── transferred (same request, new facility) ── discharged
//!      │  facility operators record each day present or absent on a monthly grid
//!      ▼
//!  pre-bill per facility and month: days present × fee; absences paid in full for the
//!  first n days of each absence, then at x% (the place stays reserved); each resident's
//!  amount split ente / utente / SSN by the co-payment rule of the facility type
//!      │  back office approves once every day of the month is recorded
//!      ▼
//!  payment certificate: the pre-bill frozen, numbered; that month's presences locked
//! ```
//!
//! A stay's days run from the day of admission up to, not including, the day of
//! discharge (or transfer), so a day is never billed twice.

use chrono::{Datelike, NaiveDate};
use mosaico_domain::copay::{Rules, Split};
use mosaico_domain::services::FACILITY_TYPES;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Checker;
use crate::input::money;
use crate::{CaseError, Result};

/// The documents a placement request needs before it joins the waiting list.
pub const DOCUMENT_KINDS: [&str; 3] = ["isee", "medical", "consent"];

/// Why a stay ended.
pub const DISCHARGE_REASONS: [&str; 6] = ["transfer", "home", "other_service", "hospital", "deceased", "other"];

/// The facility types of the catalogue, by code.
pub fn facility_type_codes() -> Vec<&'static str> {
    FACILITY_TYPES.iter().map(|t| t.code).collect()
}

/// A facility (struttura) with its places, fee and absence rule.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct Facility {
    /// Id.
    pub id: i64,
    /// Ente.
    pub ente: String,
    /// The facility's code in the registry.
    pub code: String,
    /// Name.
    pub name: String,
    /// Facility type (RSA, RSD, CSS, ...).
    pub facility_type: String,
    /// Address.
    pub address: String,
    /// Places.
    pub places: i64,
    /// Daily fee, euro cents.
    pub daily_fee_cents: i64,
    /// Absence days paid in full (per absence).
    pub absence_full_days: i64,
    /// Percentage of the fee paid for absence days after those.
    pub absence_rate_pct: i64,
    /// Whether it takes residents.
    pub active: bool,
    /// Residents today.
    pub occupied: i64,
}

/// A placement request, with the person's name.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct PlacementRequest {
    /// Id.
    pub id: i64,
    /// Ente.
    pub ente: String,
    /// The case it belongs to.
    pub case_id: i64,
    /// The person to place.
    pub person_id: i64,
    /// Surname.
    pub surname: String,
    /// Given name.
    pub given_name: String,
    /// Facility type asked for.
    pub facility_type: String,
    /// A facility preferred, if any.
    pub preferred_facility_id: Option<i64>,
    /// Date of the request.
    pub requested_on: NaiveDate,
    /// Why a place is needed.
    pub reason: String,
    /// Need, 0–100 (from the needs assessment).
    pub need_score: i64,
    /// Household situation, 0 (well supported) – 4 (alone, no network).
    pub household_score: i64,
    /// What the household situation is.
    pub household_note: String,
    /// ISEE as verified, euro cents.
    pub isee_cents: Option<i64>,
    /// `documents`, `waiting`, `admitted` or `withdrawn`.
    pub status: String,
    /// On the waiting list since (all documents verified).
    pub listed_on: Option<NaiveDate>,
    /// Withdrawn on.
    pub closed_on: Option<NaiveDate>,
    /// Why it was withdrawn.
    pub close_note: Option<String>,
    /// The social worker who made it.
    pub created_by: i64,
}

/// One item of a request's checklist.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct RequestDocument {
    /// `isee`, `medical` or `consent`.
    pub kind: String,
    /// `missing`, `verified` or `rejected`.
    pub status: String,
    /// The case document it refers to, if uploaded.
    pub document_id: Option<i64>,
    /// Back office's note (why rejected).
    pub note: Option<String>,
    /// The day it was checked.
    pub checked_on: Option<NaiveDate>,
    /// Who checked it.
    pub checked_by_name: Option<String>,
    /// When.
    pub checked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A request with its checklist and, if on the list, its position.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestFile {
    /// The request.
    pub request: PlacementRequest,
    /// The checklist.
    pub documents: Vec<RequestDocument>,
    /// Its place in the waiting list, with the score explained.
    pub ranking: Option<WaitlistEntry>,
    /// Its stays (admission, transfers).
    pub stays: Vec<Stay>,
}

/// The weights of a waiting list's score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Weights {
    /// Weight of need.
    pub need: f64,
    /// Weight of the time waited.
    pub waiting: f64,
    /// Weight of the household situation.
    pub household: f64,
    /// Waiting counts up to this many days.
    pub waiting_cap_days: i64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights { need: 0.5, waiting: 0.3, household: 0.2, waiting_cap_days: 365 }
    }
}

/// One factor of a score: its value, how it counts, and the points it gives.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScorePart {
    /// `need`, `waiting` or `household`.
    pub factor: String,
    /// The value (need 0–100, days waited, household 0–4).
    pub value: f64,
    /// The value scaled to 0–1.
    pub scaled: f64,
    /// The weight, as a share of all weights.
    pub weight: f64,
    /// Points it contributes (the parts add up to the score).
    pub points: f64,
}

/// A request's place in its waiting list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WaitlistEntry {
    /// 1 is next.
    pub position: i64,
    /// The request.
    pub request_id: i64,
    /// The person.
    pub person_id: i64,
    /// Surname.
    pub surname: String,
    /// Given name.
    pub given_name: String,
    /// On the list since.
    pub listed_on: NaiveDate,
    /// Days waited at the reference date.
    pub waiting_days: i64,
    /// Score 0–100.
    pub score: f64,
    /// How the score is made.
    pub parts: Vec<ScorePart>,
}

/// A waiting list: the ranked requests of an ente for a facility type.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Waitlist {
    /// Ente.
    pub ente: String,
    /// Facility type.
    pub facility_type: String,
    /// Weights used.
    pub weights: Weights,
    /// Waiting days are counted to this date.
    pub as_of: NaiveDate,
    /// Ranked, first is next.
    pub entries: Vec<WaitlistEntry>,
    /// Places free today in the ente's facilities of this type.
    pub free_places: i64,
}

/// A request's time on a waiting list: when it was listed, and when it left (admitted
/// or withdrawn), if it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Listing {
    /// Ente.
    pub ente: String,
    /// Facility type.
    pub facility_type: String,
    /// `waiting`, `admitted` or `withdrawn`.
    pub status: String,
    /// Listed on (all documents verified).
    pub listed_on: NaiveDate,
    /// First admitted on.
    pub admitted_on: Option<NaiveDate>,
    /// Withdrawn on.
    pub closed_on: Option<NaiveDate>,
}

/// A waiting list's length and waits, per ente and facility type.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WaitlistSummary {
    /// Ente.
    pub ente: String,
    /// Facility type.
    pub facility_type: String,
    /// Waiting on the last day of the period.
    pub waiting: u64,
    /// Median days those waiting had waited by then.
    pub median_wait_days: Option<f64>,
    /// Admitted during the period.
    pub admitted: u64,
    /// Median days from listing to admission of those admitted.
    pub median_days_to_admission: Option<f64>,
}

fn median(mut v: Vec<i64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] as f64 } else { (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0 })
}

/// The waiting lists over `from..=to`: who was waiting on `to` and for how long, who
/// was admitted in the period and after how long. Computed from dates only, so the
/// same period gives the same figures whenever it is asked.
pub fn summarize(listings: &[Listing], from: NaiveDate, to: NaiveDate) -> Vec<WaitlistSummary> {
    // Per (ente, type): days waited by those waiting, days to admission of those admitted.
    type Waits = (Vec<i64>, Vec<i64>);
    let mut groups: std::collections::BTreeMap<(&str, &str), Waits> = Default::default();
    for l in listings {
        let g = groups.entry((l.ente.as_str(), l.facility_type.as_str())).or_default();
        let gone = |d: Option<NaiveDate>| d.is_some_and(|d| d <= to);
        if l.listed_on <= to && !gone(l.admitted_on) && !gone(l.closed_on) {
            g.0.push((to - l.listed_on).num_days());
        }
        if let Some(a) = l.admitted_on.filter(|a| *a >= from && *a <= to) {
            g.1.push((a - l.listed_on).num_days().max(0));
        }
    }
    groups
        .into_iter()
        .filter(|(_, (w, a))| !w.is_empty() || !a.is_empty())
        .map(|((ente, ft), (waiting, admitted))| WaitlistSummary {
            ente: ente.to_owned(),
            facility_type: ft.to_owned(),
            waiting: waiting.len() as u64,
            admitted: admitted.len() as u64,
            median_wait_days: median(waiting),
            median_days_to_admission: median(admitted),
        })
        .collect()
}

/// Scores a request: each factor scaled to 0–1, weighted by its share of the weights.
pub fn score(w: &Weights, need: i64, waiting_days: i64, household: i64) -> (f64, Vec<ScorePart>) {
    let total = w.need + w.waiting + w.household;
    let cap = w.waiting_cap_days.max(1);
    let factors = [
        ("need", need as f64, need.clamp(0, 100) as f64 / 100.0, w.need),
        ("waiting", waiting_days as f64, waiting_days.clamp(0, cap) as f64 / cap as f64, w.waiting),
        ("household", household as f64, household.clamp(0, 4) as f64 / 4.0, w.household),
    ];
    let parts: Vec<ScorePart> = factors
        .into_iter()
        .map(|(factor, value, scaled, weight)| {
            let weight = if total > 0.0 { weight / total } else { 0.0 };
            ScorePart { factor: factor.to_owned(), value, scaled, weight, points: round2(100.0 * weight * scaled) }
        })
        .collect();
    (round2(parts.iter().map(|p| p.points).sum()), parts)
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// A request as the waiting list ranks it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Candidate {
    pub request_id: i64,
    pub person_id: i64,
    pub surname: String,
    pub given_name: String,
    pub listed_on: NaiveDate,
    pub need_score: i64,
    pub household_score: i64,
}

/// Ranks candidates: highest score first, then longest wait, then the earlier request.
pub(crate) fn rank(w: &Weights, as_of: NaiveDate, candidates: Vec<Candidate>) -> Vec<WaitlistEntry> {
    let mut entries: Vec<WaitlistEntry> = candidates
        .into_iter()
        .map(|c| {
            let waiting_days = (as_of - c.listed_on).num_days().max(0);
            let (score, parts) = score(w, c.need_score, waiting_days, c.household_score);
            WaitlistEntry {
                position: 0,
                request_id: c.request_id,
                person_id: c.person_id,
                surname: c.surname,
                given_name: c.given_name,
                listed_on: c.listed_on,
                waiting_days,
                score,
                parts,
            }
        })
        .collect();
    entries.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then(a.listed_on.cmp(&b.listed_on)).then(a.request_id.cmp(&b.request_id))
    });
    for (i, e) in entries.iter_mut().enumerate() {
        e.position = i as i64 + 1;
    }
    entries
}

/// A stay in a facility.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct Stay {
    /// Id.
    pub id: i64,
    /// Ente.
    pub ente: String,
    /// The request it answers.
    pub request_id: i64,
    /// The resident.
    pub person_id: i64,
    /// Surname.
    pub surname: String,
    /// Given name.
    pub given_name: String,
    /// Facility.
    pub facility_id: i64,
    /// Facility name.
    pub facility_name: String,
    /// First day.
    pub admitted_on: NaiveDate,
    /// The day they left (not a day of the stay).
    pub discharged_on: Option<NaiveDate>,
    /// Why.
    pub discharge_reason: Option<String>,
    /// Note.
    pub discharge_note: Option<String>,
    /// The stay this one continues after a transfer.
    pub transferred_from: Option<i64>,
    /// The ISEE verified for the request, euro cents (the pre-bill's co-payment uses it).
    pub isee_cents: Option<i64>,
}

impl Stay {
    /// Whether the stay covers `day`.
    pub fn covers(&self, day: NaiveDate) -> bool {
        day >= self.admitted_on && self.discharged_on.is_none_or(|d| day < d)
    }
}

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
pub struct Month {
    /// Year.
    pub year: i32,
    /// Month 1–12.
    pub month: u32,
}

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(field: &str, s: &str) -> Result<Month> {
        let bad = || {
            CaseError::field_code(
                field,
                "not_a_month",
                &[("value", s.trim().to_owned())],
                format!("'{}' is not a month (YYYY-MM)", s.trim()),
            )
        };
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        let (year, month) = (y.parse::<i32>().map_err(|_| bad())?, m.parse::<u32>().map_err(|_| bad())?);
        if y.len() != 4 || m.len() != 2 || NaiveDate::from_ymd_opt(year, month, 1).is_none() {
            return Err(bad());
        }
        Ok(Month { year, month })
    }

    /// The month of a date.
    pub fn of(d: NaiveDate) -> Month {
        Month { year: d.year(), month: d.month() }
    }

    /// First day.
    pub fn first(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    /// The first day of the next month.
    pub fn next_first(self) -> NaiveDate {
        let (y, m) = if self.month == 12 { (self.year + 1, 1) } else { (self.year, self.month + 1) };
        NaiveDate::from_ymd_opt(y, m, 1).unwrap_or_default()
    }

    /// The month before.
    pub fn previous(self) -> Month {
        Month::of(self.first() - chrono::Duration::days(1))
    }

    /// Every day of the month.
    pub fn days(self) -> Vec<NaiveDate> {
        self.first().iter_days().take_while(|d| *d < self.next_first()).collect()
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// What a day of a resident's grid holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Day {
    /// Not a day of the stay.
    Outside,
    /// In the future: cannot be recorded yet.
    Future,
    /// Not recorded yet.
    Unrecorded,
    /// Present.
    Present,
    /// Absent.
    Absent,
}

/// One resident's row of a monthly grid.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GridRow {
    /// The stay.
    pub stay: Stay,
    /// One per day of the month.
    pub days: Vec<Day>,
}

/// A facility's monthly presence grid.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PresenceGrid {
    /// The facility.
    pub facility: Facility,
    /// The month, `YYYY-MM`.
    pub month: String,
    /// Its days.
    pub days: Vec<NaiveDate>,
    /// A row per stay that covers a day of the month.
    pub rows: Vec<GridRow>,
    /// The month's certificate, once approved (the grid is then read-only).
    pub certificate: Option<String>,
}

/// Presences to record: `status` is `present`, `absent`, or empty to clear the day.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct PresenceInput {
    /// The days.
    pub entries: Vec<PresenceEntry>,
}

/// One day of one resident.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PresenceEntry {
    /// Stay.
    pub stay_id: i64,
    /// Day, `YYYY-MM-DD`.
    pub day: String,
    /// `present`, `absent`, or empty to clear.
    pub status: String,
}

/// A resident's line of a pre-bill.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BillLine {
    /// Stay.
    pub stay_id: i64,
    /// Resident.
    pub person_id: i64,
    /// Surname.
    pub surname: String,
    /// Given name.
    pub given_name: String,
    /// Days present.
    pub days_present: i64,
    /// Absence days paid in full.
    pub days_absent_full: i64,
    /// Absence days paid at the reduced rate.
    pub days_absent_reduced: i64,
    /// Days of the stay not recorded yet.
    pub days_unrecorded: i64,
    /// Amount, euro cents.
    pub amount_cents: i64,
    /// Quota ente.
    pub quota_ente_cents: i64,
    /// Quota utente.
    pub quota_utente_cents: i64,
    /// Quota SSN.
    pub quota_ssn_cents: i64,
    /// ISEE the split used, euro cents (none: the maximum share).
    pub isee_cents: Option<i64>,
}

/// A facility's pre-bill (pre-conto) for a month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreBill {
    /// The facility.
    pub facility: Facility,
    /// The month.
    pub month: String,
    /// A line per resident.
    pub lines: Vec<BillLine>,
    /// Total.
    pub amount_cents: i64,
    /// Quota ente.
    pub quota_ente_cents: i64,
    /// Quota utente.
    pub quota_utente_cents: i64,
    /// Quota SSN.
    pub quota_ssn_cents: i64,
    /// The co-payment rule applied, in words.
    pub copay_rule: String,
    /// Why it cannot be approved yet (none: it can).
    pub blockers: Vec<Blocker>,
    /// The certificate, once approved.
    pub certificate: Option<Certificate>,
}

/// What stands in the way of approving a pre-bill.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Blocker {
    /// `month_not_over` or `days_unrecorded`.
    pub code: String,
    /// What is missing (English).
    pub message: String,
    /// The values the message names (`month`, `name`, `days`).
    pub params: std::collections::BTreeMap<String, String>,
}

impl Blocker {
    pub(crate) fn new(code: &str, params: &[(&str, String)], message: String) -> Self {
        Blocker {
            code: code.to_owned(),
            message,
            params: params.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
        }
    }
}

/// A payment certificate: an approved pre-bill.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct Certificate {
    /// Id.
    pub id: i64,
    /// Ente.
    pub ente: String,
    /// Facility.
    pub facility_id: i64,
    /// Month `YYYY-MM`.
    pub month: String,
    /// Certificate number.
    pub number: String,
    /// Daily fee applied.
    pub daily_fee_cents: i64,
    /// Total.
    pub amount_cents: i64,
    /// Quota ente.
    pub quota_ente_cents: i64,
    /// Quota utente.
    pub quota_utente_cents: i64,
    /// Quota SSN.
    pub quota_ssn_cents: i64,
    /// Approved by.
    pub approved_by_name: String,
    /// When.
    pub approved_at: chrono::DateTime<chrono::Utc>,
    /// Note.
    pub note: Option<String>,
}

/// How a resident's month is paid, from their days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DayCounts {
    pub present: i64,
    pub absent_full: i64,
    pub absent_reduced: i64,
    pub unrecorded: i64,
}

/// Counts a resident's days in the month. `earlier_absent` is how many days in a row
/// they had been absent just before the month (an absence that goes on keeps counting).
pub(crate) fn count_days(days: &[Day], earlier_absent: i64, full_days: i64) -> DayCounts {
    let mut c = DayCounts::default();
    let mut run = earlier_absent;
    for d in days {
        match d {
            Day::Present => {
                c.present += 1;
                run = 0;
            }
            Day::Absent => {
                run += 1;
                if run <= full_days {
                    c.absent_full += 1;
                } else {
                    c.absent_reduced += 1;
                }
            }
            Day::Unrecorded | Day::Future => {
                c.unrecorded += 1;
                run = 0;
            }
            Day::Outside => run = 0,
        }
    }
    c
}

/// The amount of a resident's month: days present and absences in full at the fee, the
/// rest of the absences at the reduced rate (rounded to the cent).
pub(crate) fn amount_cents(c: &DayCounts, fee_cents: i64, rate_pct: i64) -> i64 {
    (c.present + c.absent_full) * fee_cents + (c.absent_reduced * fee_cents * rate_pct + 50) / 100
}

/// The split of a resident's month by the facility type's rule (no rule: the ente pays).
pub(crate) fn split(rules: &Rules, facility_type: &str, isee_cents: Option<i64>, amount: i64) -> (Split, String) {
    match rules.get(facility_type) {
        Some(rule) => (rule.split(isee_cents.map(|c| c as f64 / 100.0), amount, 1.0), rule.name.clone()),
        None => (Split { ente_cents: amount, utente_cents: 0, ssn_cents: 0 }, String::new()),
    }
}

// ---- Inputs ----

/// A facility to register.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct FacilityInput {
    /// Ente (default: the user's).
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub ente: Option<String>,
    /// Code.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub code: Option<String>,
    /// Name.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub name: Option<String>,
    /// Facility type.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub facility_type: Option<String>,
    /// Address.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub address: Option<String>,
    /// Places.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub places: Option<String>,
    /// Daily fee in euro (`95.50`).
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub daily_fee: Option<String>,
    /// Absence days paid in full.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub absence_full_days: Option<String>,
    /// Percentage paid after those.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub absence_rate_pct: Option<String>,
}

/// A checked facility.
#[derive(Debug, Clone)]
pub(crate) struct FacilityData {
    pub code: String,
    pub name: String,
    pub facility_type: String,
    pub address: String,
    pub places: i64,
    pub daily_fee_cents: i64,
    pub absence_full_days: i64,
    pub absence_rate_pct: i64,
}

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// A whole number in a range.
pub(crate) fn int(c: &mut Checker, field: &str, v: &str, lo: i64, hi: i64) -> i64 {
    match v.trim().parse::<i64>() {
        Ok(n) if (lo..=hi).contains(&n) => n,
        _ if v.trim().is_empty() => {
            c.fail(field, "required", &[], "required");
            0
        }
        _ => {
            c.fail(
                field,
                "out_of_range",
                &[("value", v.trim().to_owned()), ("min", lo.to_string()), ("max", hi.to_string())],
                format!("'{}' is not a whole number from {lo} to {hi}", v.trim()),
            );
            0
        }
    }
}

impl FacilityInput {
    pub(crate) fn check(&self) -> Result<FacilityData> {
        let mut c = Checker::default();
        let code = c.text("code", s(&self.code), 30);
        let name = c.text("name", s(&self.name), 120);
        let types = facility_type_codes();
        let facility_type = c.one_of("facility_type", s(&self.facility_type), &types);
        let address = c.text("address", s(&self.address), 200);
        let places = int(&mut c, "places", s(&self.places), 1, 2000);
        let daily_fee_cents = money(&mut c, "daily_fee", &self.daily_fee, true);
        let absence_full_days = int(&mut c, "absence_full_days", s(&self.absence_full_days), 0, 365);
        let absence_rate_pct = int(&mut c, "absence_rate_pct", s(&self.absence_rate_pct), 0, 100);
        c.finish()?;
        Ok(FacilityData {
            code,
            name,
            facility_type,
            address,
            places,
            daily_fee_cents,
            absence_full_days,
            absence_rate_pct,
        })
    }
}

/// A request for a place, from the social worker.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct PlacementInput {
    /// Facility type.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub facility_type: Option<String>,
    /// A preferred facility (id), optional.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub preferred_facility_id: Option<String>,
    /// Date of the request (default today).
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub requested_on: Option<String>,
    /// Why a place is needed.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub reason: Option<String>,
    /// Need 0–100; default: the latest assessment's score.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub need_score: Option<String>,
    /// Household situation 0–4.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub household_score: Option<String>,
    /// What the household situation is.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub household_note: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct PlacementData {
    pub facility_type: String,
    pub preferred_facility_id: Option<i64>,
    pub requested_on: NaiveDate,
    pub reason: String,
    pub need_score: Option<i64>,
    pub household_score: i64,
    pub household_note: String,
}

impl PlacementInput {
    pub(crate) fn check(&self, today: NaiveDate) -> Result<PlacementData> {
        let mut c = Checker::default();
        let types = facility_type_codes();
        let facility_type = c.one_of("facility_type", s(&self.facility_type), &types);
        let preferred_facility_id = match s(&self.preferred_facility_id).trim() {
            "" => None,
            v => match v.parse::<i64>() {
                Ok(id) => Some(id),
                Err(_) => {
                    c.fail("preferred_facility_id", "invalid", &[], format!("'{v}' is not a facility id"));
                    None
                }
            },
        };
        let requested_on = match s(&self.requested_on).trim() {
            "" => Some(today),
            v => c.date("requested_on", v),
        };
        if let Some(d) = requested_on.filter(|d| *d > today) {
            c.fail("requested_on", "in_future", &[("value", d.to_string())], format!("{d} is in the future"));
        }
        let reason = c.text("reason", s(&self.reason), 2000);
        let need_score = match s(&self.need_score).trim() {
            "" => None,
            v => Some(int(&mut c, "need_score", v, 0, 100)),
        };
        let household_score = int(&mut c, "household_score", s(&self.household_score), 0, 4);
        let household_note = c.text("household_note", s(&self.household_note), 1000);
        c.finish()?;
        Ok(PlacementData {
            facility_type,
            preferred_facility_id,
            requested_on: requested_on.unwrap_or(today),
            reason,
            need_score,
            household_score,
            household_note,
        })
    }
}

/// Back office's check of one document: `verified` or `rejected` (with a note); the
/// ISEE value is entered when its declaration is verified.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct DocumentCheckInput {
    /// `verified` or `rejected`.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub status: Option<String>,
    /// Why rejected (required then).
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub note: Option<String>,
    /// The ISEE in euro, for the `isee` document.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub isee: Option<String>,
    /// The case document it refers to.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub document_id: Option<String>,
    /// The day it was checked (default today).
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub checked_on: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct DocumentCheck {
    pub status: String,
    pub note: Option<String>,
    pub isee_cents: Option<i64>,
    pub document_id: Option<i64>,
    pub checked_on: NaiveDate,
}

impl DocumentCheckInput {
    pub(crate) fn check(&self, kind: &str, today: NaiveDate) -> Result<DocumentCheck> {
        let mut c = Checker::default();
        let status = c.one_of("status", s(&self.status), &["verified", "rejected"]);
        let note = c.optional_text("note", self.note.as_deref(), 1000);
        if status == "rejected" && note.is_none() {
            c.fail("note", "required", &[], "required: say why the document is rejected");
        }
        let isee_cents =
            if kind == "isee" && status == "verified" { Some(money(&mut c, "isee", &self.isee, true)) } else { None };
        let document_id = match s(&self.document_id).trim() {
            "" => None,
            v => match v.parse::<i64>() {
                Ok(id) => Some(id),
                Err(_) => {
                    c.fail("document_id", "invalid", &[], format!("'{v}' is not a document id"));
                    None
                }
            },
        };
        let checked_on = day_or_today(&mut c, "checked_on", &self.checked_on, today);
        c.finish()?;
        Ok(DocumentCheck { status, note, isee_cents, document_id, checked_on })
    }
}

/// New waiting-list weights.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct WeightsInput {
    /// Weight of need.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub need: Option<String>,
    /// Weight of waiting time.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub waiting: Option<String>,
    /// Weight of the household situation.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub household: Option<String>,
    /// Waiting counts up to this many days.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub waiting_cap_days: Option<String>,
}

impl WeightsInput {
    pub(crate) fn check(&self) -> Result<Weights> {
        let mut c = Checker::default();
        let weight = |c: &mut Checker, field: &str, v: &str| match v.trim().replace(',', ".").parse::<f64>() {
            Ok(x) if (0.0..=100.0).contains(&x) => x,
            _ => {
                c.fail(
                    field,
                    "out_of_range",
                    &[("value", v.trim().to_owned()), ("min", "0".into()), ("max", "100".into())],
                    format!("'{}' is not a number from 0 to 100", v.trim()),
                );
                0.0
            }
        };
        let need = weight(&mut c, "need", s(&self.need));
        let waiting = weight(&mut c, "waiting", s(&self.waiting));
        let household = weight(&mut c, "household", s(&self.household));
        let waiting_cap_days = int(&mut c, "waiting_cap_days", s(&self.waiting_cap_days), 1, 3650);
        if need + waiting + household <= 0.0 {
            c.fail("need", "all_zero", &[], "at least one weight must be above zero");
        }
        c.finish()?;
        Ok(Weights { need, waiting, household, waiting_cap_days })
    }
}

/// An admission into a facility.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct AdmitInput {
    /// Facility id.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub facility_id: Option<String>,
    /// First day (default today).
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub admitted_on: Option<String>,
}

/// A transfer to another facility, or a discharge.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct MoveInput {
    /// The new facility (transfers).
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub facility_id: Option<String>,
    /// The day of the move (default today).
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub on: Option<String>,
    /// Why the stay ends (discharges): home, other_service, hospital, deceased, other.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub reason: Option<String>,
    /// Note.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub note: Option<String>,
}

/// A request withdrawn.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct WithdrawInput {
    /// Why.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub note: Option<String>,
}

/// A pre-bill's approval.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ApproveInput {
    /// Note on the certificate.
    #[serde(default, deserialize_with = "crate::input::flex")]
    pub note: Option<String>,
}

pub(crate) fn facility_id(c: &mut Checker, v: &Option<String>) -> i64 {
    match s(v).trim().parse::<i64>() {
        Ok(id) => id,
        Err(_) => {
            c.fail("facility_id", "required", &[], "required: choose a facility");
            0
        }
    }
}

pub(crate) fn day_or_today(c: &mut Checker, field: &str, v: &Option<String>, today: NaiveDate) -> NaiveDate {
    let d = match s(v).trim() {
        "" => Some(today),
        v => c.date(field, v),
    };
    match d {
        Some(d) if d > today => {
            c.fail(field, "in_future", &[("value", d.to_string())], format!("{d} is in the future"));
            today
        }
        Some(d) => d,
        None => today,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_score_adds_up_and_explains_itself() {
        let w = Weights::default();
        let (total, parts) = score(&w, 80, 180, 3);
        // 0.5·0.8 + 0.3·180/365 + 0.2·0.75 = 0.4 + 0.14795 + 0.15
        assert!((total - 69.79).abs() < 0.011, "{total}");
        let sum: f64 = parts.iter().map(|p| p.points).sum();
        assert!((sum - total).abs() < 1e-9);
        assert_eq!(parts[0].points, 40.0);
        // The waiting factor stops at the cap.
        assert_eq!(score(&w, 0, 5000, 0).0, 30.0);
    }

    #[test]
    fn ranking_breaks_ties_by_time_on_the_list() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let c = |id, listed: &str, need| Candidate {
            request_id: id,
            person_id: id,
            surname: format!("S{id}"),
            given_name: String::new(),
            listed_on: d(listed),
            need_score: need,
            household_score: 2,
        };
        let w = Weights { need: 1.0, waiting: 0.0, household: 0.0, waiting_cap_days: 365 };
        let ranked =
            rank(&w, d("2026-06-01"), vec![c(1, "2026-03-01", 50), c(2, "2026-01-01", 50), c(3, "2026-05-01", 90)]);
        let order: Vec<i64> = ranked.iter().map(|e| e.request_id).collect();
        assert_eq!(order, [3, 2, 1]);
        assert_eq!(ranked[2].position, 3);
        assert_eq!(ranked[1].waiting_days, 151);
    }

    #[test]
    fn absences_are_paid_in_full_then_reduced_and_runs_carry_over() {
        use Day::*;
        // Two days in full, then 50%.
        let days = [Present, Absent, Absent, Absent, Absent, Present, Absent, Outside];
        let c = count_days(&days, 0, 2);
        assert_eq!(c, DayCounts { present: 2, absent_full: 3, absent_reduced: 2, unrecorded: 0 });
        assert_eq!(amount_cents(&c, 10_000, 50), 5 * 10_000 + 10_000);
        // An absence begun in the month before keeps counting.
        let c = count_days(&[Absent, Absent, Present], 2, 2);
        assert_eq!((c.absent_full, c.absent_reduced), (0, 2));
        assert_eq!(count_days(&[Unrecorded, Future, Present], 0, 3).unrecorded, 2);
        // Reduced days round to the cent.
        assert_eq!(amount_cents(&DayCounts { absent_reduced: 1, ..Default::default() }, 9_999, 33), 3_300);
    }

    #[test]
    fn months_parse_strictly() {
        let m = Month::parse("month", "2024-02").unwrap();
        assert_eq!(m.days().len(), 29);
        assert_eq!(m.previous().to_string(), "2024-01");
        assert_eq!(Month::parse("month", "2024-12").unwrap().next_first().to_string(), "2025-01-01");
        for bad in ["2024-13", "2024-2", "24-02", "2024/02", ""] {
            assert!(Month::parse("month", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn waiting_lists_are_summarised_at_the_end_of_the_period() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let l = |listed: &str, admitted: Option<&str>, closed: Option<&str>| Listing {
            ente: "015146".into(),
            facility_type: "RSA".into(),
            status: "waiting".into(),
            listed_on: d(listed),
            admitted_on: admitted.map(d),
            closed_on: closed.map(d),
        };
        let all = [
            l("2025-01-01", None, None),               // waiting 364 days on 2025-12-31
            l("2025-12-01", None, None),               // waiting 30
            l("2025-06-01", Some("2025-07-01"), None), // admitted after 30
            l("2025-03-01", Some("2025-05-10"), None), // admitted after 70
            l("2025-02-01", None, Some("2025-04-01")), // withdrawn: neither
            l("2026-01-10", None, None),               // listed after the period
            l("2024-11-01", Some("2026-02-01"), None), // still waiting on 2025-12-31: 425
        ];
        let s = summarize(&all, d("2025-01-01"), d("2025-12-31"));
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].waiting, s[0].admitted), (3, 2));
        assert_eq!(s[0].median_wait_days, Some(364.0));
        assert_eq!(s[0].median_days_to_admission, Some(50.0));
        assert!(summarize(&all, d("2020-01-01"), d("2020-12-31")).is_empty());
    }
}
