//! The reports owed outside the comune: the *Piano di Zona* tables of an ambito and the
//! ISTAT survey of municipal social services, read from the warehouse.
//!
//! ```text
//!  cases ⋈ interventions (ente in scope, periods) ──one pass──▶ a row per (ente, area,
//!        type, person): running in each period? spending started in each
//!        ──group-bys──▶ users and spending per cell, margin and period
//!  population (residents per ente, per NIL) ──▶ rates per 1,000
//!                       ──▶ disclosure::protect (cells + margins) ──▶ Report
//! ```
//!
//! **Definitions.** A *user* is a person with an intervention running in the period
//! (started on or before its last day, ended on or after its first); users of a group
//! are distinct persons. *Spending* is the sum of the intervention rows that start in
//! the period (rows are monthly or one-off), split into quota ente / utente / SSN as
//! recorded. *Residents* are the warehouse's registry of the comune; a comune with no
//! registry in the warehouse falls back to its 2011 census population (the reference
//! list of comuni), and the report says which.
//!
//! **Reproducible.** A report records the version of each table it read; asked again
//! at those versions (see [`Stamp`]) it gives the same numbers whatever was loaded since.
//!
//! **Disclosure.** Counts of users under the threshold are hidden with the rule of
//! [`crate::disclosure`]: cells of each table together with their margins, margins
//! treated as sums of the cells (a cautious choice: a margin of distinct persons is at
//! most that sum). Spending and rates follow the mark of their count.
//!
//! **Joint services** (gestione associata): services an ambito runs for its comuni
//! together are, in the ISTAT tables, split among the member comuni in proportion to
//! their residents, as ISTAT's method prescribes. They are declared in
//! `joint_services.toml` (see [`JointServices`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use datafusion::arrow::array::{Array, AsArray, Float64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use mosaico_domain::AreaUtenza;
use mosaico_domain::services::{self, Spending};
use serde::{Deserialize, Serialize};

use crate::disclosure::{self, Mark};
use crate::period::Period;
use crate::{Error, Result, column, i64s, strings};

/// The tables a report reads.
pub const TABLES: [&str; 3] = ["cases", "interventions", "population"];

/// An ente a report covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EnteRef {
    /// ISTAT code of the comune.
    pub istat: String,
    /// Name.
    pub name: String,
}

fn f64s(b: &RecordBatch, i: usize) -> Result<Float64Array> {
    Ok(column(b, i, &DataType::Float64)?.as_primitive::<Float64Type>().clone())
}

/// The SQL list of the enti's codes; codes are checked to be six digits.
fn enti_sql(enti: &[EnteRef]) -> Result<String> {
    if enti.is_empty() {
        return Err(Error::Invalid("no ente to report on".into()));
    }
    let mut out = Vec::with_capacity(enti.len());
    for e in enti {
        if e.istat.len() != 6 || !e.istat.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Invalid(format!("ente: '{}' is not an ISTAT code of six digits", e.istat)));
        }
        out.push(format!("'{}'", e.istat));
    }
    Ok(out.join(","))
}

// ---- Stamps ----

/// The versions of the tables a report was made from, written `cases@12,interventions@12,population@3`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stamp(pub BTreeMap<String, u64>);

impl Stamp {
    /// The versions of [`TABLES`] among `versions` (a warehouse's, or a session's).
    pub fn of(versions: &BTreeMap<String, u64>) -> Stamp {
        Stamp(TABLES.iter().filter_map(|t| versions.get(*t).map(|v| ((*t).to_owned(), *v))).collect())
    }

    /// Parses the written form.
    pub fn parse(s: &str) -> Result<Stamp> {
        let mut out = BTreeMap::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || Error::Invalid(format!("version: '{part}' is not table@version (e.g. cases@12)"));
            let (t, v) = part.split_once('@').ok_or_else(bad)?;
            if !TABLES.contains(&t) {
                return Err(Error::Invalid(format!(
                    "version: '{t}' is not a table of the reports; expected {}",
                    TABLES.join(", ")
                )));
            }
            out.insert(t.to_owned(), v.parse::<u64>().map_err(|_| bad())?);
        }
        if out.is_empty() {
            return Err(Error::Invalid("version: empty; expected e.g. cases@12,interventions@12,population@3".into()));
        }
        Ok(Stamp(out))
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(t, v)| format!("{t}@{v}")).collect();
        f.write_str(&parts.join(","))
    }
}

// ---- Values with their marks ----

/// A count of users as published.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Users {
    /// The count, or null when hidden.
    pub value: Option<u64>,
    /// Why it is or is not shown.
    pub mark: Mark,
}

/// Spending in euros, split by who pays; hidden with its users.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default, utoipa::ToSchema)]
pub struct Money {
    /// The total.
    pub total_eur: Option<f64>,
    /// Paid by the ente.
    pub ente_eur: Option<f64>,
    /// Paid by the users (co-payment).
    pub utente_eur: Option<f64>,
    /// Paid by the health service.
    pub ssn_eur: Option<f64>,
}

/// Raw sums before publication.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Sums {
    users: u64,
    total: f64,
    ente: f64,
    utente: f64,
    ssn: f64,
}

fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl Sums {
    fn publish(&self, mark: Mark) -> (Users, Money) {
        let shown = !mark.hidden();
        let m = |x: f64| shown.then(|| cents(x));
        (
            Users { value: shown.then_some(self.users), mark },
            Money {
                total_eur: m(self.total),
                ente_eur: m(self.ente),
                utente_eur: m(self.utente),
                ssn_eur: m(self.ssn),
            },
        )
    }

    fn add(&mut self, o: &Sums) {
        self.users += o.users;
        self.total += o.total;
        self.ente += o.ente;
        self.utente += o.utente;
        self.ssn += o.ssn;
    }
}

/// A rate per 1,000 residents, hidden with its count.
fn per_1000(users: Users, residents: u64) -> Option<f64> {
    match (users.value, residents) {
        (Some(u), r) if r > 0 => Some((u as f64 * 1000.0 / r as f64 * 100.0).round() / 100.0),
        _ => None,
    }
}

// ---- Queries ----

/// The interventions of the enti's cases that ran in any of `periods`, read in one pass
/// and reduced to a row per (ente, area di utenza, `detail`, person): whether the person
/// had an intervention running in period `k` (`running_k`) and the spending that started
/// in it (`total_k`, `ente_k`, `utente_k`, `ssn_k`). Every table of a report is a
/// group-by over these rows (about 200,000 for Milan's last three years on dataset M),
/// so the interventions are read once, not once per table.
///
/// Each group-by is kept in the session's [`crate::cache`] under the pass and its own
/// query; the pass itself runs only when one of them is not there.
struct Scope<'a> {
    ctx: &'a SessionContext,
    pass: String,
    rows: tokio::sync::OnceCell<SessionContext>,
}

/// The name of the reduced rows in the session of a [`Scope`].
const SCOPED: &str = "scoped";

impl<'a> Scope<'a> {
    fn new(ctx: &'a SessionContext, enti: &[EnteRef], periods: &[Period], detail: &str) -> Result<Self> {
        let list = enti_sql(enti)?;
        let (mut cols, mut any) = (Vec::new(), Vec::new());
        for (k, p) in periods.iter().enumerate() {
            let (from, to) = p.sql_bounds();
            let running = format!("i.start_date <= {to} AND i.end_date >= {from}");
            cols.push(format!("bool_or({running}) AS running_{k}"));
            for (name, column) in [
                ("total", "amount_eur"),
                ("ente", "quota_ente_eur"),
                ("utente", "quota_utente_eur"),
                ("ssn", "quota_ssn_eur"),
            ] {
                cols.push(format!(
                    "sum(CASE WHEN i.start_date BETWEEN {from} AND {to} THEN i.{column} ELSE 0 END) AS {name}_{k}"
                ));
            }
            any.push(format!("({running})"));
        }
        let pass = format!(
            "SELECT CAST(c.ente AS VARCHAR) AS ente, CAST(i.area_utenza AS VARCHAR) AS area_utenza, \
               CAST(i.{detail} AS VARCHAR) AS {detail}, i.person_key, {cols} \
             FROM interventions i JOIN cases c ON i.case_id = c.case_id \
             WHERE c.ente IN ({list}) AND ({any}) GROUP BY 1, 2, 3, 4",
            cols = cols.join(", "),
            any = any.join(" OR "),
        );
        Ok(Self { ctx, pass, rows: tokio::sync::OnceCell::new() })
    }

    /// A session holding the reduced rows as [`SCOPED`], beside the session's
    /// `population` and `cells`.
    async fn session(&self) -> Result<&SessionContext> {
        self.rows
            .get_or_try_init(|| async {
                let df = self.ctx.sql(&self.pass).await?;
                let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
                let batches = df.collect().await?;
                // As many partitions as the session reads in parallel.
                let n = self.ctx.copied_config().target_partitions().max(1);
                let mut parts = vec![Vec::new(); n];
                for (i, b) in batches.into_iter().enumerate() {
                    parts[i % n].push(b);
                }
                // The settings without the extensions: the session's query cache keys
                // answers by SQL, and `scoped` holds other rows for each scope.
                let config =
                    datafusion::prelude::SessionConfig::from(self.ctx.copied_config().options().as_ref().clone());
                let s = SessionContext::new_with_config_rt(config, self.ctx.runtime_env());
                debug_assert!(crate::cache::of(&s).is_none());
                s.register_table(SCOPED, std::sync::Arc::new(MemTable::try_new(schema, parts)?))?;
                for t in ["population", "cells"] {
                    if self.ctx.table_exist(t)? {
                        s.register_table(t, self.ctx.table_provider(t).await?)?;
                    }
                }
                Ok::<_, Error>(s)
            })
            .await
    }

    /// The rows of `sql` over the session of [`Scope::session`].
    async fn query(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        let key = format!("{}\n-- then, over {SCOPED}:\n{sql}", self.pass);
        crate::cache::remember(self.ctx, &key, || async { Ok(self.session().await?.sql(sql).await?.collect().await?) })
            .await
    }

    /// Sums per group of the rows running in period `k`. `keys` are SQL expressions
    /// over the reduced rows.
    async fn sums_by(&self, k: usize, keys: &[&str]) -> Result<Vec<(Vec<String>, Sums)>> {
        let select: Vec<String> =
            keys.iter().enumerate().map(|(n, key)| format!("CAST({key} AS VARCHAR) AS k{n}")).collect();
        let group: Vec<String> = (1..=keys.len()).map(|n| n.to_string()).collect();
        let sql = format!(
            "SELECT {sel}{comma} count(DISTINCT person_key) AS users, sum(total_{k}), sum(ente_{k}), \
               sum(utente_{k}), sum(ssn_{k}) \
             FROM {SCOPED} WHERE running_{k} {group_by}",
            sel = select.join(", "),
            comma = if keys.is_empty() { "" } else { "," },
            group_by = if keys.is_empty() { String::new() } else { format!("GROUP BY {}", group.join(", ")) },
        );
        let batches = self.query(&sql).await?;
        let n = keys.len();
        let mut out = Vec::new();
        for b in &batches {
            let key_cols: Vec<_> = (0..n).map(|c| strings(b, c)).collect::<Result<_>>()?;
            let users = i64s(b, n)?;
            let sums: Vec<Float64Array> = (n + 1..n + 5).map(|c| f64s(b, c)).collect::<Result<_>>()?;
            for r in 0..b.num_rows() {
                let key = key_cols
                    .iter()
                    .map(|c| if c.is_valid(r) { c.value(r).to_owned() } else { String::new() })
                    .collect();
                let v = |a: &Float64Array| if a.is_valid(r) { a.value(r) } else { 0.0 };
                let s = Sums {
                    users: u64::try_from(users.value(r)).unwrap_or(0),
                    total: v(&sums[0]),
                    ente: v(&sums[1]),
                    utente: v(&sums[2]),
                    ssn: v(&sums[3]),
                };
                if s.users > 0 {
                    out.push((key, s));
                }
            }
        }
        Ok(out)
    }
}

/// Residents of an ente and where the figure comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Residents {
    /// ISTAT code.
    pub istat: String,
    /// Residents.
    pub residents: u64,
    /// `registry` (the warehouse's civil registry) or `census_2011` (the reference list).
    pub source: &'static str,
}

/// Residents per ente: the warehouse's registry, else the 2011 census in `reference`
/// (ISTAT code → population).
pub async fn residents(
    ctx: &SessionContext,
    enti: &[EnteRef],
    reference: &HashMap<String, u64>,
) -> Result<Vec<Residents>> {
    let sql =
        format!("SELECT comune_istat, count(*) FROM population WHERE comune_istat IN ({}) GROUP BY 1", enti_sql(enti)?);
    let mut registry: HashMap<String, u64> = HashMap::new();
    for b in crate::territory::batches(ctx, &sql).await? {
        let (c, n) = (strings(&b, 0)?, i64s(&b, 1)?);
        for r in 0..b.num_rows() {
            registry.insert(c.value(r).to_owned(), u64::try_from(n.value(r)).unwrap_or(0));
        }
    }
    Ok(enti
        .iter()
        .map(|e| match registry.get(&e.istat) {
            Some(&n) if n > 0 => Residents { istat: e.istat.clone(), residents: n, source: "registry" },
            _ => Residents {
                istat: e.istat.clone(),
                residents: reference.get(&e.istat).copied().unwrap_or(0),
                source: "census_2011",
            },
        })
        .collect())
}

/// Reads `codice_istat,…,popolazione_2011` (the reference list of comuni).
pub fn reference_populations(csv_text: &str) -> Result<HashMap<String, u64>> {
    let mut lines = csv_text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = header
        .iter()
        .position(|h| h.trim() == "popolazione_2011")
        .ok_or_else(|| Error::Invalid("the list of comuni has no popolazione_2011 column".into()))?;
    Ok(lines
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f.first()?.to_string(), f.get(col)?.trim().parse().ok()?))
        })
        .collect())
}

// ---- Piano di Zona ----

/// One cell of an area × spending-type table.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Line {
    /// Area di utenza code (`anziani`, …), or `totale`.
    pub area_utenza: String,
    /// Spending type (`interventi_servizi`, `trasferimenti_denaro`, `strutture`), or `totale`.
    pub spending_type: String,
    /// Users.
    pub users: Users,
    /// Users per 1,000 residents.
    pub users_per_1000: Option<f64>,
    /// Spending.
    pub spending: Money,
    /// Spending per resident, euros.
    pub spending_per_resident: Option<f64>,
}

/// The area × type table of one ente (or of the whole scope).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EnteTable {
    /// ISTAT code, or `totale` for the whole scope.
    pub istat: String,
    /// Name.
    pub name: String,
    /// Residents (the denominator of the rates).
    pub residents: u64,
    /// Cells, then area totals (`spending_type` = `totale`), type totals (`area_utenza`
    /// = `totale`) and the grand total.
    pub lines: Vec<Line>,
}

/// Users and spending of one area in one year of the trend.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TrendPoint {
    /// The period's label (a year, or months).
    pub period: String,
    /// Area di utenza, or `totale`.
    pub area_utenza: String,
    /// Users.
    pub users: Users,
    /// Spending.
    pub spending: Money,
}

/// Users per 1,000 residents of a NIL.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NilCoverage {
    /// NIL id.
    pub nil_id: i32,
    /// NIL name.
    pub nil: String,
    /// Residents.
    pub residents: u64,
    /// Users living there.
    pub users: Users,
    /// Users per 1,000 residents.
    pub users_per_1000: Option<f64>,
}

/// A waiting list (per ente and facility type) over the period, from the case
/// database's dates: its length on the last day and the median waits.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WaitingList {
    /// Ente.
    pub ente: String,
    /// Facility type (RSA, CDD, …).
    pub facility_type: String,
    /// Waiting on the last day of the period.
    pub waiting: Users,
    /// Median days waited by then.
    pub median_wait_days: Option<f64>,
    /// Admitted during the period.
    pub admitted: Users,
    /// Median days from listing to admission.
    pub median_days_to_admission: Option<f64>,
}

/// A waiting list before publication.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitingRaw {
    /// Ente.
    pub ente: String,
    /// Facility type.
    pub facility_type: String,
    /// Waiting on the last day.
    pub waiting: u64,
    /// Their median wait in days.
    pub median_wait_days: Option<f64>,
    /// Admitted in the period.
    pub admitted: u64,
    /// Their median days to admission.
    pub median_days_to_admission: Option<f64>,
}

/// Waiting lists as published: lengths and admissions under the threshold hidden (with
/// a complement in their list), and the median of a hidden count with it.
pub fn publish_waiting_lists(raw: &[WaitingRaw], threshold: u64) -> Vec<WaitingList> {
    let waiting: Vec<u64> = raw.iter().map(|r| r.waiting).collect();
    let admitted: Vec<u64> = raw.iter().map(|r| r.admitted).collect();
    let (wm, _) = disclosure::protect_list(&waiting, threshold);
    let (am, _) = disclosure::protect_list(&admitted, threshold);
    raw.iter()
        .zip(wm.into_iter().zip(am))
        .map(|(r, (wmark, amark))| WaitingList {
            ente: r.ente.clone(),
            facility_type: r.facility_type.clone(),
            waiting: Users { value: disclosure::shown(r.waiting, wmark), mark: wmark },
            median_wait_days: r.median_wait_days.filter(|_| !wmark.hidden()),
            admitted: Users { value: disclosure::shown(r.admitted, amark), mark: amark },
            median_days_to_admission: r.median_days_to_admission.filter(|_| !amark.hidden()),
        })
        .collect()
}

/// The Piano di Zona tables of a scope and a period.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PianoDiZona {
    /// The period.
    pub period: Period,
    /// The enti.
    pub enti: Vec<EnteRef>,
    /// Residents per ente.
    pub residents: Vec<Residents>,
    /// The warehouse versions read: ask again with `version=` for the same numbers.
    pub version: String,
    /// The suppression threshold.
    pub threshold: u64,
    /// Whether the period holds no intervention at all.
    pub empty: bool,
    /// The whole scope, then each ente.
    pub tables: Vec<EnteTable>,
    /// Users and spending per area in the period and the same months of the two years before.
    pub trend: Vec<TrendPoint>,
    /// Users per 1,000 residents per NIL, for enti mapped into NIL.
    pub coverage: Vec<NilCoverage>,
    /// Residential care waiting lists, from the case database (filled by the caller
    /// that has one; empty otherwise).
    pub waiting_lists: Vec<WaitingList>,
}

const TOTAL: &str = "totale";

fn area_codes() -> Vec<&'static str> {
    AreaUtenza::ALL.iter().map(|a| a.code()).collect()
}

fn type_codes() -> Vec<&'static str> {
    Spending::ALL.iter().map(|s| s.code()).collect()
}

/// Sums per (area, type).
type Cells = HashMap<(String, String), Sums>;

/// Builds the protected table of one ente or of the scope from its cell sums and its
/// distinct-person margins.
fn ente_table(istat: &str, name: &str, residents: u64, cells: &Cells, margins: &Cells, threshold: u64) -> EnteTable {
    let (areas, types) = (area_codes(), type_codes());
    let counts: Vec<Vec<u64>> = areas
        .iter()
        .map(|a| types.iter().map(|t| cells.get(&((*a).to_owned(), (*t).to_owned())).map_or(0, |s| s.users)).collect())
        .collect();
    let p = disclosure::protect(&counts, threshold);
    let line = |area: &str, ty: &str, s: &Sums, mark: Mark| {
        // A margin is hidden if the table's rule hides it or it is small in itself.
        let mark = if mark == Mark::Shown && disclosure::primary(s.users, threshold) { Mark::Primary } else { mark };
        let (users, spending) = s.publish(mark);
        Line {
            area_utenza: area.to_owned(),
            spending_type: ty.to_owned(),
            users,
            users_per_1000: per_1000(users, residents),
            spending,
            spending_per_resident: spending
                .total_eur
                .filter(|_| residents > 0)
                .map(|t| (t / residents as f64 * 100.0).round() / 100.0),
        }
    };
    let zero = Sums::default();
    let mut lines = Vec::new();
    for (ai, a) in areas.iter().enumerate() {
        for (ti, t) in types.iter().enumerate() {
            if let Some(s) = cells.get(&((*a).to_owned(), (*t).to_owned())) {
                lines.push(line(a, t, s, p.cells[ai][ti]));
            }
        }
    }
    let margin = |a: &str, t: &str| margins.get(&(a.to_owned(), t.to_owned())).copied().unwrap_or(zero);
    for (ai, a) in areas.iter().enumerate() {
        let s = margin(a, TOTAL);
        if s.users > 0 {
            lines.push(line(a, TOTAL, &s, p.row_totals[ai]));
        }
    }
    for (ti, t) in types.iter().enumerate() {
        let s = margin(TOTAL, t);
        if s.users > 0 {
            lines.push(line(TOTAL, t, &s, p.col_totals[ti]));
        }
    }
    lines.push(line(TOTAL, TOTAL, &margin(TOTAL, TOTAL), p.total));
    EnteTable { istat: istat.to_owned(), name: name.to_owned(), residents, lines }
}

/// Sums keyed by (ente, area, type), with `totale` for the margins; `by_ente` false
/// pools the enti under `totale`.
async fn table_sums(scope: &Scope<'_>, k: usize, by_ente: bool) -> Result<HashMap<(String, String, String), Sums>> {
    let ente_key = if by_ente { "ente" } else { "'totale'" };
    let mut out = HashMap::new();
    for (keys, fill) in [
        (vec![ente_key, "area_utenza", "spending_type"], (false, false)),
        (vec![ente_key, "area_utenza"], (false, true)),
        (vec![ente_key, "spending_type"], (true, false)),
        (vec![ente_key], (true, true)),
    ] {
        for (k, s) in scope.sums_by(k, &keys).await? {
            let mut it = k.into_iter();
            let ente = it.next().unwrap_or_default();
            let area = if fill.0 { TOTAL.to_owned() } else { it.next().unwrap_or_default() };
            let ty = if fill.1 { TOTAL.to_owned() } else { it.next().unwrap_or_default() };
            out.insert((ente, area, ty), s);
        }
    }
    Ok(out)
}

fn split_cells(all: &HashMap<(String, String, String), Sums>, ente: &str) -> (Cells, Cells) {
    let (mut cells, mut margins) = (HashMap::new(), HashMap::new());
    for ((e, a, t), s) in all {
        if e != ente {
            continue;
        }
        if a == TOTAL || t == TOTAL {
            margins.insert((a.clone(), t.clone()), *s);
        } else {
            cells.insert((a.clone(), t.clone()), *s);
        }
    }
    (cells, margins)
}

/// The Piano di Zona of `enti` over `period`, from the session `ctx` (whose table
/// versions are `stamp`).
pub async fn piano_di_zona(
    ctx: &SessionContext,
    enti: &[EnteRef],
    period: &Period,
    threshold: u64,
    reference: &HashMap<String, u64>,
    stamp: &Stamp,
) -> Result<PianoDiZona> {
    let residents = residents(ctx, enti, reference).await?;
    let res_of = |istat: &str| residents.iter().find(|r| r.istat == istat).map_or(0, |r| r.residents);
    let all_residents: u64 = residents.iter().map(|r| r.residents).sum();

    // The trend's periods, this one last: one pass over the interventions serves them all.
    let periods = [period.years_before(2), period.years_before(1), *period];
    let now = periods.len() - 1;
    let scope = Scope::new(ctx, enti, &periods, "spending_type")?;
    let pooled = table_sums(&scope, now, false).await?;
    let per_ente = if enti.len() > 1 { table_sums(&scope, now, true).await? } else { HashMap::new() };
    let empty = !pooled.contains_key(&(TOTAL.to_owned(), TOTAL.to_owned(), TOTAL.to_owned()));

    let mut tables = Vec::new();
    let (cells, margins) = split_cells(&pooled, TOTAL);
    let scope_name = if enti.len() == 1 { enti[0].name.clone() } else { "Totale ambito".to_owned() };
    let scope_code = if enti.len() == 1 { enti[0].istat.clone() } else { TOTAL.to_owned() };
    tables.push(ente_table(&scope_code, &scope_name, all_residents, &cells, &margins, threshold));
    if enti.len() > 1 {
        for e in enti {
            let (cells, margins) = split_cells(&per_ente, &e.istat);
            tables.push(ente_table(&e.istat, &e.name, res_of(&e.istat), &cells, &margins, threshold));
        }
    }

    let trend = trend(&scope, &periods, threshold).await?;
    let coverage = coverage(&scope, now, enti, threshold).await?;
    Ok(PianoDiZona {
        period: *period,
        enti: enti.to_vec(),
        residents,
        version: stamp.to_string(),
        threshold,
        empty,
        tables,
        trend,
        coverage,
        waiting_lists: Vec::new(),
    })
}

/// Users and spending per area in the period and the same months of the two years
/// before, protected as one area × period table.
async fn trend(scope: &Scope<'_>, periods: &[Period], threshold: u64) -> Result<Vec<TrendPoint>> {
    let areas = area_codes();
    let mut sums: Vec<HashMap<String, Sums>> = Vec::new();
    for k in 0..periods.len() {
        let mut by_area: HashMap<String, Sums> = HashMap::new();
        for (key, s) in scope.sums_by(k, &["area_utenza"]).await? {
            by_area.insert(key.into_iter().next().unwrap_or_default(), s);
        }
        for (_, s) in scope.sums_by(k, &[]).await? {
            by_area.insert(TOTAL.to_owned(), s);
        }
        sums.push(by_area);
    }
    let counts: Vec<Vec<u64>> =
        areas.iter().map(|a| sums.iter().map(|m| m.get(*a).map_or(0, |s| s.users)).collect()).collect();
    let p = disclosure::protect(&counts, threshold);
    let mut out = Vec::new();
    for (pi, per) in periods.iter().enumerate() {
        for (ai, a) in areas.iter().enumerate() {
            let s = sums[pi].get(*a).copied().unwrap_or_default();
            let (users, spending) = s.publish(p.cells[ai][pi]);
            out.push(TrendPoint { period: per.label(), area_utenza: (*a).to_owned(), users, spending });
        }
        let s = sums[pi].get(TOTAL).copied().unwrap_or_default();
        let mark = if p.col_totals[pi] == Mark::Shown && disclosure::primary(s.users, threshold) {
            Mark::Primary
        } else {
            p.col_totals[pi]
        };
        let (users, spending) = s.publish(mark);
        out.push(TrendPoint { period: per.label(), area_utenza: TOTAL.to_owned(), users, spending });
    }
    Ok(out)
}

/// Users per 1,000 residents per NIL (users placed by their home in the registry).
async fn coverage(scope: &Scope<'_>, k: usize, enti: &[EnteRef], threshold: u64) -> Result<Vec<NilCoverage>> {
    let list = enti_sql(enti)?;
    // NIL names come from the grid's table, when the warehouse has it.
    let names = if scope.ctx.table_exist("cells")? {
        "SELECT DISTINCT nil_id, nil_name FROM cells WHERE nil_id IS NOT NULL"
    } else {
        "SELECT CAST(NULL AS INT) AS nil_id, CAST(NULL AS VARCHAR) AS nil_name WHERE FALSE"
    };
    let sql = format!(
        "WITH res AS (SELECT nil_id, count(*) AS residents FROM population \
                      WHERE comune_istat IN ({list}) AND nil_id IS NOT NULL GROUP BY 1), \
              users AS (SELECT p.nil_id, count(DISTINCT s.person_key) AS users \
                        FROM {SCOPED} s JOIN population p ON p.person_key = s.person_key \
                        WHERE s.running_{k} AND p.nil_id IS NOT NULL GROUP BY 1), \
              names AS ({names}) \
         SELECT res.nil_id, coalesce(names.nil_name, CAST(res.nil_id AS VARCHAR)), res.residents, coalesce(users.users, 0) \
         FROM res LEFT JOIN users ON users.nil_id = res.nil_id LEFT JOIN names ON names.nil_id = res.nil_id \
         ORDER BY res.nil_id"
    );
    let mut rows = Vec::new();
    for b in scope.query(&sql).await? {
        let (id, name, residents, users) = (crate::i32s(&b, 0)?, strings(&b, 1)?, i64s(&b, 2)?, i64s(&b, 3)?);
        for r in 0..b.num_rows() {
            rows.push((
                id.value(r),
                name.value(r).to_owned(),
                u64::try_from(residents.value(r)).unwrap_or(0),
                u64::try_from(users.value(r)).unwrap_or(0),
            ));
        }
    }
    let counts: Vec<u64> = rows.iter().map(|r| r.3).collect();
    let (marks, _) = disclosure::protect_list(&counts, threshold);
    Ok(rows
        .into_iter()
        .zip(marks)
        .map(|((nil_id, nil, residents, n), mark)| {
            let users = Users { value: (!mark.hidden()).then_some(n), mark };
            NilCoverage { nil_id, nil, residents, users, users_per_1000: per_1000(users, residents) }
        })
        .collect())
}

// ---- ISTAT survey ----

/// Services an ambito runs jointly for its member comuni.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct JointService {
    /// The ambito.
    pub ambito: String,
    /// The member comuni taking part (ISTAT codes).
    pub enti: Vec<String>,
    /// The service codes run jointly.
    pub services: Vec<String>,
}

/// The declared joint services (`joint_services.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct JointServices {
    /// The declarations.
    #[serde(default)]
    pub joint: Vec<JointService>,
}

impl JointServices {
    /// The file shipped with Mosaico.
    pub fn built_in() -> Result<Self> {
        Self::parse(include_str!("../joint_services.toml"))
    }

    /// Parses and checks a declaration: known services, six-digit comuni, a comune in
    /// at most one group per service.
    pub fn parse(text: &str) -> Result<Self> {
        let j: JointServices =
            toml::from_str(text).map_err(|e| Error::Invalid(format!("joint services: {}", e.message())))?;
        let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
        for g in &j.joint {
            if g.enti.len() < 2 {
                return Err(Error::Invalid(format!("joint services of ambito {}: name at least two comuni", g.ambito)));
            }
            for s in &g.services {
                if services::service(s).is_none() {
                    return Err(Error::Invalid(format!(
                        "joint services of ambito {}: unknown service '{s}'",
                        g.ambito
                    )));
                }
                for e in &g.enti {
                    if e.len() != 6 || !e.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(Error::Invalid(format!(
                            "joint services of ambito {}: '{e}' is not an ISTAT code",
                            g.ambito
                        )));
                    }
                    if !seen.insert((e.clone(), s.clone())) {
                        return Err(Error::Invalid(format!("joint services: {e} runs {s} in two groups")));
                    }
                }
            }
        }
        Ok(j)
    }
}

/// A row of the ISTAT table: a comune, an area and an intervention.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IstatRow {
    /// ISTAT code of the comune.
    pub istat: String,
    /// Comune.
    pub comune: String,
    /// Area di utenza.
    pub area_utenza: String,
    /// Intervention (service code).
    pub intervention: String,
    /// Intervention name.
    pub intervention_name: String,
    /// `diretta` (run by the comune) or `associata` (run jointly, split by residents).
    pub management: &'static str,
    /// Users.
    pub users: Users,
    /// Spending.
    pub spending: Money,
}

/// The ISTAT survey tables of a scope and a period.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IstatSurvey {
    /// The period (normally a calendar year).
    pub period: Period,
    /// Residents per comune, the weights of joint services.
    pub residents: Vec<Residents>,
    /// The warehouse versions read.
    pub version: String,
    /// The suppression threshold.
    pub threshold: u64,
    /// Whether the period holds no intervention at all.
    pub empty: bool,
    /// Rows per comune, area and intervention.
    pub rows: Vec<IstatRow>,
    /// Joint groups that were not split because some member is outside the scope.
    pub notes: Vec<String>,
}

/// Splits `n` among `weights` in proportion, by largest remainder: the parts add up to `n`.
pub fn apportion(n: u64, weights: &[u64]) -> Vec<u64> {
    let total: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if total == 0 {
        let mut out = vec![0; weights.len()];
        if let Some(first) = out.first_mut() {
            *first = n;
        }
        return out;
    }
    let exact: Vec<(u64, u128)> = weights
        .iter()
        .map(|&w| {
            let p = u128::from(n) * u128::from(w);
            (u64::try_from(p / total).unwrap_or(0), p % total)
        })
        .collect();
    let mut out: Vec<u64> = exact.iter().map(|e| e.0).collect();
    let mut left = n - out.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| exact[b].1.cmp(&exact[a].1).then(a.cmp(&b)));
    for i in order {
        if left == 0 {
            break;
        }
        out[i] += 1;
        left -= 1;
    }
    out
}

/// Splits an amount in euros in proportion to `weights`, to the cent, adding up exactly.
fn apportion_eur(x: f64, weights: &[u64]) -> Vec<f64> {
    let c = (x * 100.0).round();
    let (neg, c) = (c < 0.0, c.abs() as u64);
    apportion(c, weights).into_iter().map(|p| if neg { -(p as f64) / 100.0 } else { p as f64 / 100.0 }).collect()
}

/// The ISTAT tables of `enti` over `period`: users and spending per comune, area di
/// utenza and intervention, joint services split by residents.
pub async fn istat_survey(
    ctx: &SessionContext,
    enti: &[EnteRef],
    period: &Period,
    threshold: u64,
    reference: &HashMap<String, u64>,
    joint: &JointServices,
    stamp: &Stamp,
) -> Result<IstatSurvey> {
    let residents = residents(ctx, enti, reference).await?;
    let in_scope: BTreeSet<&str> = enti.iter().map(|e| e.istat.as_str()).collect();
    let mut notes = Vec::new();
    // The joint groups fully in scope; the others keep their rows where recorded.
    let groups: Vec<&JointService> = joint
        .joint
        .iter()
        .filter(|g| {
            let all = g.enti.iter().all(|e| in_scope.contains(e.as_str()));
            if !all && g.enti.iter().any(|e| in_scope.contains(e.as_str())) {
                notes.push(format!(
                    "the services run jointly by ambito {} ({}) are shown where recorded: not every member comune is in this report",
                    g.ambito,
                    g.services.join(", ")
                ));
            }
            all
        })
        .collect();
    let group_of = |ente: &str, service: &str| {
        groups.iter().position(|g| g.enti.iter().any(|e| e == ente) && g.services.iter().any(|s| s == service))
    };

    // Direct rows per (comune, area, service); joint rows pooled per (group, area, service).
    let mut direct: BTreeMap<(String, String, String), Sums> = BTreeMap::new();
    let mut pooled: BTreeMap<(usize, String, String), Sums> = BTreeMap::new();
    let raw =
        Scope::new(ctx, enti, &[*period], "service_code")?.sums_by(0, &["ente", "area_utenza", "service_code"]).await?;
    let empty = raw.is_empty();
    for (k, s) in raw {
        let [ente, area, service]: [String; 3] = k.try_into().unwrap_or_default();
        match group_of(&ente, &service) {
            Some(g) => pooled.entry((g, area, service)).or_default().add(&s),
            None => direct.entry((ente, area, service)).or_default().add(&s),
        }
    }
    let res_of = |istat: &str| residents.iter().find(|r| r.istat == istat).map_or(0, |r| r.residents);
    let mut joint_rows: BTreeMap<(String, String, String), Sums> = BTreeMap::new();
    for ((g, area, service), s) in &pooled {
        let members = &groups[*g].enti;
        let weights: Vec<u64> = members.iter().map(|e| res_of(e)).collect();
        let users = apportion(s.users, &weights);
        let (t, e, u, n) = (
            apportion_eur(s.total, &weights),
            apportion_eur(s.ente, &weights),
            apportion_eur(s.utente, &weights),
            apportion_eur(s.ssn, &weights),
        );
        for (m, ente) in members.iter().enumerate() {
            joint_rows.insert(
                (ente.clone(), area.clone(), service.clone()),
                Sums { users: users[m], total: t[m], ente: e[m], utente: u[m], ssn: n[m] },
            );
        }
    }

    // Per comune: protect the area × intervention table, then publish.
    let services_all: Vec<&str> = services::SERVICES.iter().map(|s| s.code).collect();
    let areas = area_codes();
    let mut rows = Vec::new();
    for e in enti {
        let mut cells: HashMap<(String, String), (Sums, &'static str)> = HashMap::new();
        for ((ente, a, s), v) in &direct {
            if ente == &e.istat {
                cells.insert((a.clone(), s.clone()), (*v, "diretta"));
            }
        }
        for ((ente, a, s), v) in &joint_rows {
            if ente == &e.istat {
                cells.insert((a.clone(), s.clone()), (*v, "associata"));
            }
        }
        let counts: Vec<Vec<u64>> = areas
            .iter()
            .map(|a| {
                services_all
                    .iter()
                    .map(|s| cells.get(&((*a).to_owned(), (*s).to_owned())).map_or(0, |c| c.0.users))
                    .collect()
            })
            .collect();
        let p = disclosure::protect(&counts, threshold);
        for (ai, a) in areas.iter().enumerate() {
            for (si, s) in services_all.iter().enumerate() {
                let Some((sums, management)) = cells.get(&((*a).to_owned(), (*s).to_owned())) else { continue };
                if sums.users == 0 {
                    continue;
                }
                let (users, spending) = sums.publish(p.cells[ai][si]);
                rows.push(IstatRow {
                    istat: e.istat.clone(),
                    comune: e.name.clone(),
                    area_utenza: (*a).to_owned(),
                    intervention: (*s).to_owned(),
                    intervention_name: services::service(s).map_or("", |x| x.name).to_owned(),
                    management,
                    users,
                    spending,
                });
            }
        }
    }
    Ok(IstatSurvey { period: *period, residents, version: stamp.to_string(), threshold, empty, rows, notes })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn apportioning_adds_up_and_follows_the_weights() {
        assert_eq!(apportion(10, &[76_514, 71_128]), vec![5, 5]);
        assert_eq!(apportion(7, &[1, 1, 1]), vec![3, 2, 2]);
        assert_eq!(apportion(100, &[3, 1]), vec![75, 25]);
        assert_eq!(apportion(5, &[0, 0]), vec![5, 0]);
        let eur = apportion_eur(1000.01, &[2, 1]);
        assert_eq!(eur, vec![666.67, 333.34]);
        assert!((eur.iter().sum::<f64>() - 1000.01).abs() < 1e-9);
    }

    #[test]
    fn stamps_round_trip_and_bad_ones_are_named() {
        let s = Stamp::parse("cases@3, interventions@4,population@1").unwrap();
        assert_eq!(s.to_string(), "cases@3,interventions@4,population@1");
        assert!(Stamp::parse("cases@x").unwrap_err().to_string().contains("'cases@x'"));
        assert!(Stamp::parse("isee@1").unwrap_err().to_string().contains("not a table of the reports"));
    }

    #[test]
    fn joint_declarations_are_checked() {
        assert!(JointServices::built_in().is_ok());
        let bad = "[[joint]]\nambito='X'\nenti=['015209','015077']\nservices=['NOPE']";
        assert!(JointServices::parse(bad).unwrap_err().to_string().contains("unknown service 'NOPE'"));
        let one = "[[joint]]\nambito='X'\nenti=['015209']\nservices=['SAD']";
        assert!(JointServices::parse(one).unwrap_err().to_string().contains("at least two"));
    }

    #[test]
    fn reference_populations_come_from_the_list_of_comuni() {
        let text = "codice_istat,nome,sigla,codice_catastale,popolazione_2011\n015146,Milano,MI,F205,1242123\n";
        assert_eq!(reference_populations(text).unwrap().get("015146"), Some(&1_242_123));
        assert!(reference_populations("codice_istat,nome\n").is_err());
    }
}
