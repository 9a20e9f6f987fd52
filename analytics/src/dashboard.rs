//! The managers' dashboard: caseload, new and closed cases, waiting lists, spending
//! against budget and coverage of targets, for a set of enti over a [`Period`].
//!
//! ```text
//!  Input (enti, period, threshold) ──SQL over cases / interventions / population──▶ counts
//!     + waiting-list facts and budgets (from the case database, passed in)
//!     ──disclosure::protect / protect_list──▶ Dashboard (every count with its Mark)
//! ```
//!
//! Every published count of persons goes through [`crate::disclosure`]: under the
//! threshold it is hidden (`primary`), and where a total is published beside it
//! another member of the line is hidden too (`secondary`), so no hidden count comes back
//! by subtraction. Amounts of euros, medians and rates follow the mark of the count of
//! persons they describe. A section whose period holds no data says so (`empty` and a
//! message) instead of showing zeros.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::prelude::SessionContext;
use serde::Serialize;
use utoipa::ToSchema;

use crate::disclosure::{Mark, protect, protect_list};
use crate::period::Period;
use crate::targets::{Catalogue, Target};
use crate::territory::{batches, demand_pairs};
use crate::{Result, column, i64s, strings};

/// What the dashboard covers.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    /// The enti (ISTAT codes), already checked against the caller's scope.
    pub enti: &'a [String],
    /// The months.
    pub period: Period,
    /// Counts of persons from 1 to `threshold − 1` are hidden.
    pub threshold: u64,
    /// Today (waits of those still waiting are counted to it).
    pub today: NaiveDate,
}

/// A count of persons or cases as published: the value, or `null` with why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Count {
    /// The count; `null` when hidden.
    pub value: Option<u64>,
    /// `shown`, `primary` (under the threshold) or `secondary` (hidden to protect another).
    pub mark: Mark,
}

impl Count {
    fn new(n: u64, mark: Mark) -> Self {
        Count { value: (!mark.hidden()).then_some(n), mark }
    }
}

/// An amount in euros that follows the mark of the persons it was spent on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Euros {
    /// Euros, rounded to the cent; `null` when hidden.
    pub value: Option<f64>,
    /// The mark of the count of persons it describes.
    pub mark: Mark,
}

impl Euros {
    fn new(x: f64, mark: Mark) -> Self {
        Euros { value: (!mark.hidden()).then_some((x * 100.0).round() / 100.0), mark }
    }
}

/// Why a section is empty.
fn empty_message(what: &str, period: &Period) -> String {
    format!("no {what} in the period {} in the enti asked for: nothing to show (this is not a zero)", period.label())
}

/// Open cases per social worker (rows) and ente, at the end of the period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Caseload {
    /// The period holds no open case.
    pub empty: bool,
    /// Why it is empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Open cases are counted on this day (the period's last).
    pub as_of: NaiveDate,
    /// One row per social worker and ente with open cases.
    pub workers: Vec<WorkerLoad>,
    /// One row per ente.
    pub enti: Vec<EnteLoad>,
    /// All open cases.
    pub total: Count,
}

/// A social worker's open cases in an ente.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkerLoad {
    /// Ente.
    pub ente: String,
    /// The social worker as the source names them (`—` when not recorded).
    pub social_worker: String,
    /// Open cases.
    pub open: Count,
}

/// An ente's open cases and how many social workers hold them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnteLoad {
    /// Ente.
    pub ente: String,
    /// Open cases.
    pub open: Count,
    /// Social workers with at least one open case.
    pub workers: u64,
}

/// Cases opened and closed per month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Flows {
    /// No case was opened or closed in the period.
    pub empty: bool,
    /// Why it is empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// One row per month of the period.
    pub months: Vec<MonthFlow>,
    /// Opened in the period.
    pub opened_total: Count,
    /// Closed in the period.
    pub closed_total: Count,
}

/// One month's new and closed cases.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonthFlow {
    /// `YYYY-MM`.
    pub month: String,
    /// Opened.
    pub opened: Count,
    /// Closed.
    pub closed: Count,
}

/// A placement request that reached a waiting list (from the case database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitFact {
    /// Ente.
    pub ente: String,
    /// Facility type.
    pub facility_type: String,
    /// Still on the list.
    pub waiting: bool,
    /// On the list since.
    pub listed_on: NaiveDate,
    /// First admission, if admitted.
    pub admitted_on: Option<NaiveDate>,
}

/// Waiting lists per facility type.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Waiting {
    /// Nobody was on a list in the period.
    pub empty: bool,
    /// Why it is empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Lengths and waits of those still waiting are counted to this day.
    pub as_of: NaiveDate,
    /// One row per facility type.
    pub types: Vec<WaitRow>,
    /// Waiting now, all types.
    pub waiting_total: Count,
    /// Admitted in the period, all types.
    pub admitted_total: Count,
}

/// One facility type's list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WaitRow {
    /// Facility type code.
    pub facility_type: String,
    /// Waiting now.
    pub waiting: Count,
    /// Median days since listing of those waiting (hidden with their count).
    pub median_wait_days: Option<i64>,
    /// Admitted in the period.
    pub admitted: Count,
    /// Median days from listing to admission of those admitted in the period.
    pub median_days_to_admission: Option<i64>,
}

/// A budget figure (from the case database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetLine {
    /// Ente.
    pub ente: String,
    /// Year.
    pub year: i32,
    /// Area di utenza code.
    pub area: String,
    /// Euro cents.
    pub cents: i64,
}

/// Spending in the period by area di utenza and by quota, against the budget.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Spending {
    /// No intervention started in the period.
    pub empty: bool,
    /// Why it is empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// How the budget is compared: each year's figure pro rata of the period's months in it.
    pub budget_note: String,
    /// One row per area di utenza (all seven).
    pub areas: Vec<AreaSpending>,
    /// All areas.
    pub total: AreaSpending,
}

/// One area's spending.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AreaSpending {
    /// Area di utenza code (`total` for the total).
    pub area: String,
    /// Persons served (distinct).
    pub persons: Count,
    /// Spent.
    pub amount: Euros,
    /// Quota borne by the ente.
    pub quota_ente: Euros,
    /// Quota paid by users.
    pub quota_utente: Euros,
    /// Quota borne by the health service (SSN).
    pub quota_ssn: Euros,
    /// Budget for the period (pro rata), when set. Not a count of persons: always shown.
    pub budget: Option<f64>,
    /// Spent over budget, when both are known.
    pub share_of_budget: Option<f64>,
}

/// Coverage of targets: persons of a target in care in its area per 1,000 of the target.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Coverage {
    /// No resident in the enti.
    pub empty: bool,
    /// Why it is empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Open cases are those open in the warehouse's latest data (not the period's end):
    /// the registry is today's.
    pub note: String,
    /// One row per target asked for.
    pub targets: Vec<TargetCoverage>,
    /// The mapped target.
    pub mapped: String,
    /// The mapped target per NIL.
    pub nil: Vec<NilCoverage>,
}

/// A target's coverage.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TargetCoverage {
    /// Target id.
    pub target: String,
    /// Its Italian name.
    pub name: String,
    /// Its area di utenza.
    pub area: String,
    /// Persons (or households) of the target.
    pub potential: Count,
    /// Of which with an open case in the target's area.
    pub expressed: Count,
    /// `expressed` per 1,000 of `potential`.
    pub per_1000: Option<f64>,
}

/// The mapped target's coverage in one NIL.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NilCoverage {
    /// NIL id.
    pub nil_id: i32,
    /// NIL name.
    pub name: String,
    /// Residents.
    pub residents: Count,
    /// Persons of the target.
    pub potential: Count,
    /// Of which in care.
    pub expressed: Count,
    /// In care per 1,000 persons of the target.
    pub per_1000_target: Option<f64>,
    /// In care per 1,000 residents.
    pub per_1000_residents: Option<f64>,
}

fn in_list(enti: &[String]) -> String {
    let v: Vec<String> = enti.iter().map(|e| format!("'{}'", e.replace('\'', "''"))).collect();
    if v.is_empty() { "''".into() } else { v.join(", ") }
}

fn u64_of(b: &RecordBatch, i: usize) -> Result<Vec<u64>> {
    let a = i64s(b, i)?;
    Ok((0..a.len()).map(|r| if a.is_null(r) { 0 } else { a.value(r).max(0) as u64 }).collect())
}

fn f64_of(b: &RecordBatch, i: usize) -> Result<Vec<f64>> {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::{DataType, Float64Type};
    let a = column(b, i, &DataType::Float64)?;
    let a = a.as_primitive::<Float64Type>();
    Ok((0..a.len()).map(|r| if a.is_null(r) { 0.0 } else { a.value(r) }).collect())
}

fn str_of(b: &RecordBatch, i: usize) -> Result<Vec<String>> {
    let a = strings(b, i)?;
    Ok((0..a.len()).map(|r| if a.is_null(r) { String::new() } else { a.value(r).to_owned() }).collect())
}

/// Open cases per social worker and ente at the period's end. The table published is
/// workers × enti with its margins (a worker's total, an ente's total, the grand
/// total), protected as one table.
pub async fn caseload(ctx: &SessionContext, input: &Input<'_>) -> Result<Caseload> {
    let to = input.period.to;
    let sql = format!(
        "SELECT ente, coalesce(social_worker, '') AS worker, count(*) AS n FROM cases \
         WHERE ente IN ({}) AND opened_on <= DATE '{to}' AND (closed_on IS NULL OR closed_on > DATE '{to}') \
         GROUP BY 1, 2",
        in_list(input.enti)
    );
    let mut cells: BTreeMap<(String, String), u64> = BTreeMap::new();
    for b in batches(ctx, &sql).await? {
        let (e, w, n) = (str_of(&b, 0)?, str_of(&b, 1)?, u64_of(&b, 2)?);
        for i in 0..b.num_rows() {
            let worker = if w[i].is_empty() { "—".to_owned() } else { w[i].clone() };
            *cells.entry((worker, e[i].clone())).or_default() += n[i];
        }
    }
    let workers: Vec<String> = cells.keys().map(|(w, _)| w.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let enti: Vec<String> = input.enti.to_vec();
    let table: Vec<Vec<u64>> = workers
        .iter()
        .map(|w| enti.iter().map(|e| cells.get(&(w.clone(), e.clone())).copied().unwrap_or(0)).collect())
        .collect();
    let p = protect(&table, input.threshold);
    let mut rows = Vec::new();
    for (i, w) in workers.iter().enumerate() {
        for (j, e) in enti.iter().enumerate() {
            if table[i][j] > 0 {
                rows.push(WorkerLoad {
                    ente: e.clone(),
                    social_worker: w.clone(),
                    open: Count::new(table[i][j], p.cells[i][j]),
                });
            }
        }
    }
    let total: u64 = table.iter().flatten().sum();
    let ente_rows = enti
        .iter()
        .enumerate()
        .map(|(j, e)| EnteLoad {
            ente: e.clone(),
            open: Count::new(table.iter().map(|r| r[j]).sum(), p.col_totals.get(j).copied().unwrap_or(Mark::Shown)),
            workers: table.iter().filter(|r| r[j] > 0).count() as u64,
        })
        .collect();
    let empty = total == 0;
    Ok(Caseload {
        empty,
        message: empty.then(|| empty_message("open case", &input.period)),
        as_of: to,
        workers: rows,
        enti: ente_rows,
        total: Count::new(total, if workers.is_empty() { Mark::Shown } else { p.total }),
    })
}

/// `YYYYMM` of a date column, as SQL.
fn yyyymm(col: &str) -> String {
    format!("CAST(date_part('year', {col}) AS BIGINT) * 100 + CAST(date_part('month', {col}) AS BIGINT)")
}

/// Cases opened and closed per month of the period; each series is protected as a list
/// with its total.
pub async fn flows(ctx: &SessionContext, input: &Input<'_>) -> Result<Flows> {
    let (from, to) = input.period.sql_bounds();
    let months = input.period.month_starts();
    let key = |d: NaiveDate| i64::from(d.year()) * 100 + i64::from(d.month());
    let mut series = Vec::new();
    for col in ["opened_on", "closed_on"] {
        let sql = format!(
            "SELECT {m} AS m, count(*) AS n FROM cases WHERE ente IN ({enti}) AND {col} BETWEEN {from} AND {to} \
             GROUP BY 1",
            m = yyyymm(col),
            enti = in_list(input.enti)
        );
        let mut by: BTreeMap<i64, u64> = BTreeMap::new();
        for b in batches(ctx, &sql).await? {
            let (m, n) = (i64s(&b, 0)?, u64_of(&b, 1)?);
            for (i, n) in n.into_iter().enumerate() {
                by.insert(m.value(i), n);
            }
        }
        let counts: Vec<u64> = months.iter().map(|d| by.get(&key(*d)).copied().unwrap_or(0)).collect();
        let (marks, total_mark) = protect_list(&counts, input.threshold);
        series.push((counts, marks, total_mark));
    }
    let (opened, closed) = (&series[0], &series[1]);
    let rows = months
        .iter()
        .enumerate()
        .map(|(i, d)| MonthFlow {
            month: d.format("%Y-%m").to_string(),
            opened: Count::new(opened.0[i], opened.1[i]),
            closed: Count::new(closed.0[i], closed.1[i]),
        })
        .collect();
    let (o, c): (u64, u64) = (opened.0.iter().sum(), closed.0.iter().sum());
    let empty = o == 0 && c == 0;
    Ok(Flows {
        empty,
        message: empty.then(|| empty_message("case opened or closed", &input.period)),
        months: rows,
        opened_total: Count::new(o, opened.2),
        closed_total: Count::new(c, closed.2),
    })
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2 })
}

/// Waiting-list lengths now and waits per facility type: the median days since listing
/// of those waiting, and the median days from listing to admission of those admitted
/// in the period. Counts are protected per column with their totals; medians are
/// hidden with the count they are taken over.
pub fn waiting(facts: &[WaitFact], input: &Input<'_>) -> Waiting {
    let p = &input.period;
    let facts: Vec<&WaitFact> =
        facts.iter().filter(|f| input.enti.contains(&f.ente) && f.listed_on <= input.today).collect();
    let types: Vec<String> =
        facts.iter().map(|f| f.facility_type.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let mut waits = Vec::new();
    let mut admissions = Vec::new();
    for t in &types {
        let w: Vec<i64> = facts
            .iter()
            .filter(|f| &f.facility_type == t && f.waiting)
            .map(|f| (input.today - f.listed_on).num_days().max(0))
            .collect();
        let a: Vec<i64> = facts
            .iter()
            .filter(|f| &f.facility_type == t)
            .filter_map(|f| f.admitted_on.filter(|d| *d >= p.from && *d <= p.to).map(|d| (d - f.listed_on).num_days()))
            .map(|d| d.max(0))
            .collect();
        waits.push(w);
        admissions.push(a);
    }
    let wc: Vec<u64> = waits.iter().map(|v| v.len() as u64).collect();
    let ac: Vec<u64> = admissions.iter().map(|v| v.len() as u64).collect();
    let (wm, wt) = protect_list(&wc, input.threshold);
    let (am, at) = protect_list(&ac, input.threshold);
    let rows = types
        .iter()
        .enumerate()
        .map(|(i, t)| WaitRow {
            facility_type: t.clone(),
            waiting: Count::new(wc[i], wm[i]),
            median_wait_days: if wm[i].hidden() { None } else { median(waits[i].clone()) },
            admitted: Count::new(ac[i], am[i]),
            median_days_to_admission: if am[i].hidden() { None } else { median(admissions[i].clone()) },
        })
        .collect();
    let empty = facts.iter().all(|f| f.listed_on > p.to);
    Waiting {
        empty,
        message: empty.then(|| empty_message("waiting-list entry", p)),
        as_of: input.today,
        types: rows,
        waiting_total: Count::new(wc.iter().sum(), wt),
        admitted_total: Count::new(ac.iter().sum(), at),
    }
}

/// The budget of each area for the period: each year's figure times the share of its
/// twelve months the period covers.
pub fn budget_for_period(budgets: &[BudgetLine], enti: &[String], period: &Period) -> BTreeMap<String, f64> {
    let mut months_in: BTreeMap<i32, u32> = BTreeMap::new();
    for d in period.month_starts() {
        *months_in.entry(d.year()).or_default() += 1;
    }
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    for b in budgets.iter().filter(|b| enti.contains(&b.ente)) {
        if let Some(&m) = months_in.get(&b.year) {
            *out.entry(b.area.clone()).or_default() += b.cents as f64 / 100.0 * f64::from(m) / 12.0;
        }
    }
    out
}

/// Spending of interventions that started in the period, by area di utenza and quota,
/// against the budget. Persons served per area are protected as a list with their
/// total; the euros of an area follow its mark.
pub async fn spending(ctx: &SessionContext, input: &Input<'_>, budgets: &[BudgetLine]) -> Result<Spending> {
    let (from, to) = input.period.sql_bounds();
    let filter = format!(
        "FROM interventions i JOIN cases c ON c.case_id = i.case_id \
         WHERE c.ente IN ({}) AND i.start_date BETWEEN {from} AND {to}",
        in_list(input.enti)
    );
    // Per area and, in the same pass, all areas (a person served in two areas is one).
    let sql = format!(
        "SELECT i.area_utenza, grouping(i.area_utenza) AS every_area, count(DISTINCT i.person_key) AS persons, \
         sum(i.amount_eur), sum(i.quota_ente_eur), sum(i.quota_utente_eur), sum(i.quota_ssn_eur) {filter} \
         GROUP BY GROUPING SETS ((i.area_utenza), ())"
    );
    let mut by: BTreeMap<String, (u64, [f64; 4])> = BTreeMap::new();
    let mut distinct = 0;
    for b in batches(ctx, &sql).await? {
        let (a, every, n) = (str_of(&b, 0)?, u64_of(&b, 1)?, u64_of(&b, 2)?);
        let cols = [f64_of(&b, 3)?, f64_of(&b, 4)?, f64_of(&b, 5)?, f64_of(&b, 6)?];
        for i in 0..b.num_rows() {
            if every[i] == 1 {
                distinct = n[i];
            } else {
                by.insert(a[i].clone(), (n[i], [cols[0][i], cols[1][i], cols[2][i], cols[3][i]]));
            }
        }
    }
    let budget = budget_for_period(budgets, input.enti, &input.period);
    let areas: Vec<&str> = mosaico_domain::AreaUtenza::ALL.iter().map(|a| a.code()).collect();
    let counts: Vec<u64> = areas.iter().map(|a| by.get(*a).map_or(0, |x| x.0)).collect();
    let (marks, total_mark) = protect_list(&counts, input.threshold);
    let row = |area: &str, persons: u64, e: [f64; 4], mark: Mark, budget: Option<f64>| AreaSpending {
        area: area.to_owned(),
        persons: Count::new(persons, mark),
        amount: Euros::new(e[0], mark),
        quota_ente: Euros::new(e[1], mark),
        quota_utente: Euros::new(e[2], mark),
        quota_ssn: Euros::new(e[3], mark),
        budget: budget.map(|b| (b * 100.0).round() / 100.0),
        share_of_budget: match (mark.hidden(), budget) {
            (false, Some(b)) if b > 0.0 => Some(e[0] / b),
            _ => None,
        },
    };
    let rows: Vec<AreaSpending> = areas
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let (n, e) = by.get(*a).copied().unwrap_or((0, [0.0; 4]));
            row(a, n, e, marks[i], budget.get(*a).copied())
        })
        .collect();
    let mut sum = [0.0; 4];
    for (_, e) in by.values() {
        for k in 0..4 {
            sum[k] += e[k];
        }
    }
    let total_budget = (!budget.is_empty()).then(|| budget.values().sum());
    let empty = by.is_empty();
    Ok(Spending {
        empty,
        message: empty.then(|| empty_message("intervention", &input.period)),
        budget_note: "each year's budget pro rata of the period's months in that year".into(),
        areas: rows,
        total: row("total", distinct, sum, total_mark, total_budget),
    })
}

/// The targets whose coverage the dashboard shows: the catalogue's first of each area di
/// utenza, and `mapped` (drawn per NIL).
pub fn shown_targets<'c>(catalogue: &'c Catalogue, mapped: &'c Target) -> Vec<&'c Target> {
    let mut targets: Vec<&Target> = mosaico_domain::AreaUtenza::ALL
        .iter()
        .filter_map(|area| catalogue.targets().iter().find(|x| x.area == area.code()))
        .collect();
    if !targets.iter().any(|x| x.id == mapped.id) {
        targets.push(mapped);
    }
    targets
}

/// A target's potential and expressed demand per res-9 cell over the whole territory;
/// coverage keeps the cells of the enti in scope, so the answer serves every scope.
async fn target_pairs(ctx: &SessionContext, target: &Target) -> Result<Vec<crate::territory::Pair>> {
    demand_pairs(ctx, target, 9, true).await
}

/// Answers ahead of the first visit the part of the dashboard that does not depend on
/// who asks: the demand of `targets` per cell ([`target_pairs`]), one scan of the
/// registry each, the slowest of its sections on a large warehouse. The answers are
/// kept in the session's [`crate::cache`]; a dashboard asked meanwhile waits for them
/// rather than computing them again. Returns how many targets were answered.
pub async fn warm(ctx: &SessionContext, targets: &[&Target]) -> Result<usize> {
    for t in targets {
        target_pairs(ctx, t).await?;
    }
    Ok(targets.len())
}

/// Coverage of `targets` in the enti, and of `mapped` per NIL: persons of the target
/// with an open case in its area per 1,000 persons of the target (and per 1,000
/// residents, per NIL). Potential and expressed counts are protected as lists over the
/// NIL with their totals; a rate is hidden when either count is.
pub async fn coverage(
    ctx: &SessionContext,
    input: &Input<'_>,
    targets: &[&Target],
    mapped: &Target,
) -> Result<Coverage> {
    let keep = |comune: &str| input.enti.iter().any(|e| e == comune);
    let rate = |num: Count, den: Count| match (num.value, den.value) {
        (Some(n), Some(d)) if d > 0 => Some((n as f64 * 1000.0 / d as f64 * 10.0).round() / 10.0),
        _ => None,
    };
    let mut rows = Vec::new();
    for t in targets {
        let pairs = target_pairs(ctx, t).await?;
        let (p, e) = pairs.iter().filter(|x| keep(&x.comune)).fold((0.0, 0.0), |(p, e), x| (p + x.a, e + x.b));
        let (p, e) = (p.round() as u64, e.round() as u64);
        // Published alone: a primary check each (no total to protect against).
        let mark = |n: u64| if crate::disclosure::primary(n, input.threshold) { Mark::Primary } else { Mark::Shown };
        let (potential, expressed) = (Count::new(p, mark(p)), Count::new(e, mark(e)));
        rows.push(TargetCoverage {
            target: t.id.clone(),
            name: t.name.clone(),
            area: t.area.clone(),
            potential,
            expressed,
            per_1000: rate(expressed, potential),
        });
    }
    // The mapped target per NIL.
    let pairs = target_pairs(ctx, mapped).await?;
    let mut by_nil: BTreeMap<i32, (f64, f64)> = BTreeMap::new();
    for x in pairs.iter().filter(|x| keep(&x.comune)) {
        if let Some(n) = x.nil {
            let v = by_nil.entry(n).or_default();
            v.0 += x.a;
            v.1 += x.b;
        }
    }
    let mut residents: BTreeMap<i32, u64> = BTreeMap::new();
    let sql = format!(
        "SELECT nil_id, count(*) AS n FROM population WHERE comune_istat IN ({}) AND nil_id IS NOT NULL GROUP BY 1",
        in_list(input.enti)
    );
    for b in batches(ctx, &sql).await? {
        let (id, n) = (i64s(&b, 0)?, u64_of(&b, 1)?);
        for (i, n) in n.into_iter().enumerate() {
            residents.insert(id.value(i) as i32, n);
        }
    }
    let mut names: BTreeMap<i32, String> = BTreeMap::new();
    if ctx.table_exist("areas")? {
        for b in batches(ctx, "SELECT id, name FROM areas WHERE kind = 'nil'").await? {
            let (id, name) = (str_of(&b, 0)?, str_of(&b, 1)?);
            for i in 0..b.num_rows() {
                if let Ok(n) = id[i].parse::<i32>() {
                    names.insert(n, name[i].clone());
                }
            }
        }
    }
    let nils: Vec<i32> = residents.keys().copied().collect();
    let res: Vec<u64> = nils.iter().map(|n| residents[n]).collect();
    let pot: Vec<u64> = nils.iter().map(|n| by_nil.get(n).map_or(0, |v| v.0.round() as u64)).collect();
    let exp: Vec<u64> = nils.iter().map(|n| by_nil.get(n).map_or(0, |v| v.1.round() as u64)).collect();
    let (rm, _) = protect_list(&res, input.threshold);
    let (pm, _) = protect_list(&pot, input.threshold);
    let (em, _) = protect_list(&exp, input.threshold);
    let nil = nils
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let (r, p, e) = (Count::new(res[i], rm[i]), Count::new(pot[i], pm[i]), Count::new(exp[i], em[i]));
            NilCoverage {
                nil_id: *n,
                name: names.get(n).cloned().unwrap_or_else(|| n.to_string()),
                residents: r,
                potential: p,
                expressed: e,
                per_1000_target: rate(e, p),
                per_1000_residents: rate(e, r),
            }
        })
        .collect();
    let empty = residents.is_empty() && rows.iter().all(|r| r.potential.value == Some(0));
    Ok(Coverage {
        empty,
        message: empty.then(|| "no resident of the enti asked for in the registry: nothing to show".to_owned()),
        note: "open cases and residents as in the warehouse's latest data".into(),
        targets: rows,
        mapped: mapped.id.clone(),
        nil,
    })
}

/// The whole dashboard.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Dashboard {
    /// Caseload per worker and ente.
    pub caseload: Caseload,
    /// New and closed cases per month.
    pub flows: Flows,
    /// Waiting lists.
    pub waiting: Waiting,
    /// Spending against budget.
    pub spending: Spending,
    /// Coverage of targets.
    pub coverage: Coverage,
}

/// Computes every section.
pub async fn dashboard(
    ctx: &SessionContext,
    input: &Input<'_>,
    facts: &[WaitFact],
    budgets: &[BudgetLine],
    targets: &[&Target],
    mapped: &Target,
) -> Result<Dashboard> {
    Ok(Dashboard {
        caseload: caseload(ctx, input).await?,
        flows: flows(ctx, input).await?,
        waiting: waiting(facts, input),
        spending: spending(ctx, input, budgets).await?,
        coverage: coverage(ctx, input, targets, mapped).await?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn input(enti: &[String]) -> Input<'_> {
        let period = Period::parse(Some("2025-01"), Some("2025-06"), None, d("2026-11-23")).unwrap();
        Input { enti, period, threshold: 5, today: d("2026-11-23") }
    }

    #[test]
    fn waits_are_medians_and_small_lists_are_hidden() {
        let enti = vec!["015146".to_owned()];
        let fact = |t: &str, listed: &str, admitted: Option<&str>| WaitFact {
            ente: "015146".into(),
            facility_type: t.into(),
            waiting: admitted.is_none(),
            listed_on: d(listed),
            admitted_on: admitted.map(d),
        };
        let mut facts: Vec<WaitFact> = (0..12).map(|i| fact("RSA", &format!("2026-11-{:02}", 1 + i), None)).collect();
        facts.extend((0..6).map(|_| fact("CDI", "2026-10-24", None)));
        facts.extend((0..5).map(|i| fact("RSA", "2025-01-01", Some(&format!("2025-02-{:02}", 1 + i)))));
        facts.extend((0..2).map(|_| fact("RSD", "2026-10-01", None)));
        facts.push(fact("RSA", "2025-01-01", Some("2025-09-01"))); // admitted after the period
        let w = waiting(&facts, &input(&enti));
        assert!(!w.empty);
        let ty = |t: &str| w.types.iter().find(|r| r.facility_type == t).unwrap();
        // Waits of 22 down to 11 days: the median of twelve is the mean of 16 and 17, floored.
        assert_eq!((ty("RSA").waiting.value, ty("RSA").median_wait_days), (Some(12), Some(16)));
        assert_eq!((ty("RSA").admitted.value, ty("RSA").median_days_to_admission), (Some(5), Some(33)));
        assert_eq!((ty("RSD").waiting.mark, ty("RSD").median_wait_days), (Mark::Primary, None));
        // The total of waiting would give the RSD's 2 away: the CDI's 6 (smallest) goes too.
        assert_eq!((ty("CDI").waiting.mark, ty("CDI").median_wait_days), (Mark::Secondary, None));
        assert_eq!(w.waiting_total.value, Some(20));
        assert_eq!(ty("RSD").admitted.mark, Mark::Shown); // a zero singles no one out
    }

    #[test]
    fn budgets_are_taken_pro_rata() {
        let enti = vec!["015146".to_owned()];
        let b = |year, cents| BudgetLine { ente: "015146".into(), year, area: "anziani".into(), cents };
        let other = BudgetLine { ente: "015209".into(), ..b(2025, 1) };
        let p = Period::parse(Some("2024-10"), Some("2025-03"), None, d("2026-11-23")).unwrap();
        let out = budget_for_period(&[b(2024, 1_200_000), b(2025, 2_400_000), other], &enti, &p);
        // 3/12 of 12,000 + 3/12 of 24,000.
        assert_eq!(out["anziani"], 9_000.0);
    }
}
