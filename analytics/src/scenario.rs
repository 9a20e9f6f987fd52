//! What-if scenarios: named sets of changes laid over a version of the warehouse, which
//! they never modify, and their outcome beside the baseline and each other.
//!
//! ```text
//!  Scenario { base: table versions, changes: open | close | resize | catchment | projection }
//!      facilities (base) ──open / close / resize──▶ supply pairs ─┐
//!      persons (base) ──rule──▶ demand pairs ──projection (cohort ageing, by NIL × age band)──┤
//!                                                   access_field (catchment) ─▶ A, gap per cell
//!  compare([baseline, s1, s2, …]) ──▶ one row per unit: each variant's demand, places,
//!                                     accessibility and gap, and its change from the first
//! ```
//!
//! Scenarios are kept in the warehouse's `scenarios` table, one row per save (a delete is
//! a row too), so the history of every scenario stays readable; the tables a scenario
//! reads are untouched.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array as _, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::SessionContext;
use h3o::{CellIndex, LatLng, Resolution};
use mosaico_warehouse::Warehouse;

use crate::cohort::{self, Ages, AreaKey, Overrides, RateTable};
use crate::targets::{Kind, Target};
use crate::territory::{self, Areas, Pair, Request, Unit, count};
use crate::{Error, Result, i32s, i64s, strings, suppress, u64s};

/// The warehouse table scenarios are kept in.
pub const TABLE: &str = "scenarios";

/// Changes in one scenario at most.
pub const MAX_CHANGES: usize = 200;

/// Places of one facility at most.
pub const MAX_PLACES: u32 = 2_000;

/// Where a new facility opens.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", untagged)]
pub enum Site {
    /// A point in degrees.
    Point {
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
    },
    /// An H3 cell (its centre), as hexadecimal.
    Cell {
        /// The cell.
        cell: String,
    },
    /// The populated cell nearest the centre of a NIL.
    Nil {
        /// The NIL id.
        nil: i32,
    },
}

/// One change of a scenario.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// A new facility.
    Open {
        /// Its type (RSA, CDI, …).
        facility_type: String,
        /// Its places.
        places: u32,
        /// Where it opens.
        #[serde(flatten)]
        site: Site,
        /// A name for the tables.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// An existing facility closes.
    Close {
        /// Its id in the facility registry.
        facility_id: String,
    },
    /// An existing facility gets a new number of places.
    Resize {
        /// Its id.
        facility_id: String,
        /// Its places from now on.
        places: u32,
    },
    /// The catchment of accessibility, in km.
    Catchment {
        /// Kilometres.
        km: f64,
    },
    /// The population aged `years` ahead by cohort ageing (demand at constant
    /// prevalence per NIL and age band).
    Projection {
        /// Years ahead.
        years: u32,
        /// Rates replacing the NIL profiles' for every area.
        #[serde(default)]
        rates: Overrides,
    },
}

/// A saved scenario.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Scenario {
    /// Its id: a slug of its name.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// When it was saved (RFC 3339).
    #[serde(default)]
    pub saved_at: String,
    /// The version of each warehouse table it is laid over.
    #[serde(default)]
    pub base: BTreeMap<String, u64>,
    /// Its changes, applied in order.
    pub changes: Vec<Change>,
}

/// A slug for an id: lower-case letters, digits and `_`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        let c = match c {
            'à' | 'á' => 'a',
            'è' | 'é' => 'e',
            'ì' | 'í' => 'i',
            'ò' | 'ó' => 'o',
            'ù' | 'ú' => 'u',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').chars().take(60).collect()
}

impl Scenario {
    /// A scenario with an id from its name; refuses an empty name or too many changes.
    pub fn new(name: &str, description: &str, changes: Vec<Change>) -> Result<Scenario> {
        let id = slug(name);
        if id.is_empty() {
            return Err(Error::Invalid("name: give the scenario a name with letters or digits".into()));
        }
        if id == "baseline" {
            return Err(Error::Invalid("name: 'baseline' is the name of the situation without changes".into()));
        }
        if changes.len() > MAX_CHANGES {
            return Err(Error::Unsolvable(format!(
                "changes: {} changes; a scenario holds at most {MAX_CHANGES}",
                changes.len()
            )));
        }
        Ok(Scenario {
            id,
            name: name.trim().to_owned(),
            description: description.trim().to_owned(),
            saved_at: String::new(),
            base: BTreeMap::new(),
            changes,
        })
    }

    /// The catchment it sets, if any (the last one given).
    pub fn catchment_km(&self) -> Option<f64> {
        self.changes.iter().rev().find_map(|c| match c {
            Change::Catchment { km } => Some(*km),
            _ => None,
        })
    }

    /// The projection it applies, if any (the last one given).
    pub fn projection(&self) -> Option<(u32, Overrides)> {
        self.changes.iter().rev().find_map(|c| match c {
            Change::Projection { years, rates } => Some((*years, *rates)),
            _ => None,
        })
    }
}

/// A facility as the scenario sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    /// Its id (`new:<n>` for one a scenario opens).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its type.
    pub facility_type: String,
    /// Its places.
    pub places: u32,
    /// Its res-10 cell.
    pub cell: Option<u64>,
    /// Its NIL.
    pub nil: Option<i32>,
    /// Its municipio.
    pub municipio: Option<i32>,
    /// Its comune.
    pub comune: String,
}

/// The facilities of a warehouse session.
pub async fn facilities(ctx: &SessionContext) -> Result<Vec<Facility>> {
    if !ctx.table_exist("facilities")? {
        return Ok(Vec::new());
    }
    let sql = "SELECT facility_id, name, facility_type, capacity, h3_10, nil_id, municipio, comune_istat \
               FROM facilities ORDER BY facility_id";
    let mut out = Vec::new();
    for b in territory::batches(ctx, sql).await? {
        let (id, name, kind) = (strings(&b, 0)?, strings(&b, 1)?, strings(&b, 2)?);
        let (cap, cell, nil, mun, com) = (i64s(&b, 3)?, u64s(&b, 4)?, i32s(&b, 5)?, i32s(&b, 6)?, strings(&b, 7)?);
        for i in 0..b.num_rows() {
            out.push(Facility {
                id: id.value(i).to_owned(),
                name: name.value(i).to_owned(),
                facility_type: kind.value(i).to_owned(),
                places: u32::try_from(cap.value(i)).unwrap_or(0),
                cell: cell.is_valid(i).then(|| cell.value(i)),
                nil: nil.is_valid(i).then(|| nil.value(i)),
                municipio: mun.is_valid(i).then(|| mun.value(i)),
                comune: com.value(i).to_owned(),
            });
        }
    }
    Ok(out)
}

/// Where a res-10 cell lies: NIL, municipio, comune (from the `cells` table).
async fn place_of(ctx: &SessionContext, cell: u64) -> Result<Option<(Option<i32>, Option<i32>, String)>> {
    if !ctx.table_exist("cells")? {
        return Err(Error::Invalid("the warehouse has no cells table; load the territory first".into()));
    }
    let sql = format!("SELECT nil_id, municipio, comune_istat FROM cells WHERE res = 10 AND cell = {cell}");
    for b in territory::batches(ctx, &sql).await? {
        if b.num_rows() > 0 {
            let (nil, mun, com) = (i32s(&b, 0)?, i32s(&b, 1)?, strings(&b, 2)?);
            return Ok(Some((
                nil.is_valid(0).then(|| nil.value(0)),
                mun.is_valid(0).then(|| mun.value(0)),
                com.value(0).to_owned(),
            )));
        }
    }
    Ok(None)
}

/// The res-10 cell a site names.
async fn site_cell(ctx: &SessionContext, site: &Site) -> Result<u64> {
    match site {
        Site::Point { lat, lon } => LatLng::new(*lat, *lon)
            .map(|ll| u64::from(ll.to_cell(Resolution::Ten)))
            .map_err(|_| Error::Invalid(format!("({lat}, {lon}) is not a latitude and longitude in degrees"))),
        Site::Cell { cell } => {
            let c: CellIndex =
                cell.parse().map_err(|_| Error::Invalid(format!("'{cell}' is not an H3 cell (hexadecimal)")))?;
            let c = if c.resolution() < Resolution::Ten {
                c.center_child(Resolution::Ten)
            } else {
                c.parent(Resolution::Ten)
            };
            c.map(u64::from).ok_or_else(|| Error::Invalid(format!("'{cell}' has no res-10 cell")))
        }
        Site::Nil { nil } => {
            // The NIL's res-10 cell nearest the mean of its cells' centres.
            let sql = format!("SELECT cell FROM cells WHERE res = 10 AND nil_id = {nil}");
            let mut cells = Vec::new();
            for b in territory::batches(ctx, &sql).await? {
                let c = u64s(&b, 0)?;
                cells.extend((0..b.num_rows()).filter_map(|i| CellIndex::try_from(c.value(i)).ok()));
            }
            if cells.is_empty() {
                return Err(Error::Invalid(format!("NIL {nil} does not exist in the territory")));
            }
            let n = cells.len() as f64;
            let (lat, lng) = cells
                .iter()
                .map(|c| LatLng::from(*c))
                .fold((0.0, 0.0), |(a, b), ll| (a + ll.lat() / n, b + ll.lng() / n));
            let best = cells.iter().min_by(|a, b| {
                let d = |c: &CellIndex| {
                    crate::fca::haversine_km((lat, lng), (LatLng::from(*c).lat(), LatLng::from(*c).lng()))
                };
                d(a).total_cmp(&d(b))
            });
            Ok(best.map(|c| u64::from(*c)).unwrap_or_default())
        }
    }
}

/// The facilities after a scenario's changes, checking each change against the base:
/// the facilities it closes or resizes exist, the sites it opens lie in the territory,
/// the values are in range.
pub async fn apply(ctx: &SessionContext, base: Vec<Facility>, changes: &[Change]) -> Result<Vec<Facility>> {
    let known: Vec<&str> = mosaico_domain::services::FACILITY_TYPES.iter().map(|f| f.code).collect();
    let mut out = base;
    let mut opened = 0;
    for (n, change) in changes.iter().enumerate() {
        let at = |m: String| Error::Invalid(format!("change {}: {m}", n + 1));
        let places_ok = |p: u32| {
            if p > MAX_PLACES { Err(at(format!("{p} places; a facility has at most {MAX_PLACES}"))) } else { Ok(()) }
        };
        let find = |out: &[Facility], id: &str| {
            out.iter().position(|f| f.id == id).ok_or_else(|| {
                at(format!("facility '{id}' is not in the facility registry of the scenario's base version"))
            })
        };
        match change {
            Change::Open { facility_type, places, site, name } => {
                if !known.contains(&facility_type.as_str()) {
                    return Err(at(format!(
                        "'{facility_type}' is not a facility type; expected one of {}",
                        known.join(", ")
                    )));
                }
                if *places == 0 {
                    return Err(at("a new facility needs at least one place".into()));
                }
                places_ok(*places)?;
                let cell = site_cell(ctx, site).await.map_err(|e| at(e.to_string()))?;
                let Some((nil, municipio, comune)) = place_of(ctx, cell).await? else {
                    return Err(at(format!("the site {} lies outside the territory", describe_site(site))));
                };
                opened += 1;
                out.push(Facility {
                    id: format!("new:{opened}"),
                    name: name.clone().unwrap_or_else(|| format!("{facility_type} {opened}")),
                    facility_type: facility_type.clone(),
                    places: *places,
                    cell: Some(cell),
                    nil,
                    municipio,
                    comune,
                });
            }
            Change::Close { facility_id } => {
                let i = find(&out, facility_id)?;
                out.remove(i);
            }
            Change::Resize { facility_id, places } => {
                places_ok(*places)?;
                let i = find(&out, facility_id)?;
                out[i].places = *places;
            }
            Change::Catchment { km } => {
                if !territory::CATCHMENT_KM.contains(km) {
                    return Err(at(format!(
                        "catchment {km} km is out of range; use {}..={} km",
                        territory::CATCHMENT_KM.start(),
                        territory::CATCHMENT_KM.end()
                    )));
                }
            }
            Change::Projection { years, rates } => {
                cohort::project(
                    BTreeMap::new(),
                    &RateTable::built_in().with(*rates).map_err(|e| at(e.to_string()))?,
                    *years,
                )
                .map_err(|e| at(e.to_string()))?;
            }
        }
    }
    Ok(out)
}

fn describe_site(site: &Site) -> String {
    match site {
        Site::Point { lat, lon } => format!("({lat}, {lon})"),
        Site::Cell { cell } => format!("cell {cell}"),
        Site::Nil { nil } => format!("NIL {nil}"),
    }
}

/// A pair's place: cell, NIL, municipio, comune.
type PairKey = (Option<u64>, Option<i32>, Option<i32>, String);

/// Supply pairs of facilities of the given types at a grid resolution.
fn supply_pairs(facilities: &[Facility], types: &[String], res: u8) -> Vec<Pair> {
    let res = Resolution::try_from(res).unwrap_or(Resolution::Nine);
    let mut by: BTreeMap<PairKey, (f64, f64)> = BTreeMap::new();
    for f in facilities.iter().filter(|f| types.contains(&f.facility_type)) {
        let cell = f.cell.and_then(|c| CellIndex::try_from(c).ok()).and_then(|c| c.parent(res)).map(u64::from);
        let e = by.entry((cell, f.nil, f.municipio, f.comune.clone())).or_default();
        e.0 += 1.0;
        e.1 += f64::from(f.places);
    }
    by.into_iter().map(|((cell, nil, municipio, comune), (a, b))| Pair { cell, nil, municipio, comune, a, b }).collect()
}

/// The residents per area and single year of age (100: 100 and over).
pub async fn base_ages(ctx: &SessionContext) -> Result<BTreeMap<AreaKey, Ages>> {
    let sql = format!(
        "SELECT nil_id, comune_istat, least(age, {}) AS age, count(*) FROM population GROUP BY 1, 2, 3",
        cohort::MAX_AGE
    );
    let mut out: BTreeMap<AreaKey, Ages> = BTreeMap::new();
    for b in territory::batches(ctx, &sql).await? {
        let (nil, com, age, n) = (i32s(&b, 0)?, strings(&b, 1)?, i64s(&b, 2)?, i64s(&b, 3)?);
        for i in 0..b.num_rows() {
            let key = AreaKey { nil: nil.is_valid(i).then(|| nil.value(i)), comune: com.value(i).to_owned() };
            let a = usize::try_from(age.value(i)).unwrap_or(0).min(cohort::MAX_AGE);
            out.entry(key).or_insert([0.0; cohort::MAX_AGE + 1])[a] += n.value(i) as f64;
        }
    }
    Ok(out)
}

/// Demand pairs with each (cell, area, age band) count grown as its NIL's band grows
/// over `year` years (households: as the NIL's residents).
async fn projected_pairs(
    ctx: &SessionContext,
    target: &Target,
    res: u8,
    projection: &cohort::Projection,
    year: usize,
) -> Result<Vec<Pair>> {
    let (from, _) = territory::target_rows(ctx, target, false)?;
    let band = match target.kind {
        Kind::Person => cohort::band_sql(),
        Kind::Household => "-1".to_owned(),
    };
    let sql = format!(
        "SELECT h3_parent(h3_10, {res}) AS cell, nil_id, municipio, comune_istat, count(*) AS potential, \
         0 AS expressed, {band} AS band FROM ({from}) t WHERE ({rule}) GROUP BY 1, 2, 3, 4, 7",
        rule = target.rule
    );
    let batches = territory::batches(ctx, &sql).await.map_err(|e| territory::rule_error(target, e))?;
    let mut pairs = territory::read_pairs(&batches)?;
    let bands: Vec<i64> = batches
        .iter()
        .map(|b| i64s(b, 6))
        .collect::<Result<Vec<_>>>()?
        .iter()
        .flat_map(|a| a.values().to_vec())
        .collect();
    let mut merged: BTreeMap<PairKey, f64> = BTreeMap::new();
    for (p, band) in pairs.drain(..).zip(bands) {
        let key = AreaKey { nil: p.nil, comune: p.comune.clone() };
        let g = projection.growth(&key, usize::try_from(band).ok(), year);
        *merged.entry((p.cell, p.nil, p.municipio, p.comune)).or_default() += p.a * g;
    }
    Ok(merged
        .into_iter()
        .map(|((cell, nil, municipio, comune), a)| Pair { cell, nil, municipio, comune, a, b: 0.0 })
        .collect())
}

/// One situation to measure: the baseline (no scenario) or a scenario, each over its
/// own warehouse session (the scenario's base version).
#[derive(Clone, Copy)]
pub struct Variant<'a> {
    /// Its label in column names (`baseline` or the scenario's id).
    pub label: &'a str,
    /// The session at its base version.
    pub ctx: &'a SessionContext,
    /// The scenario (`None`: the baseline).
    pub scenario: Option<&'a Scenario>,
}

impl std::fmt::Debug for Variant<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Variant").field("label", &self.label).field("scenario", &self.scenario.map(|s| &s.id)).finish()
    }
}

/// A variant's totals over the rows shown.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Totals {
    /// `baseline` or the scenario's id.
    pub label: String,
    /// Persons (or households) of the target.
    pub potential: u64,
    /// Facilities of the types counted.
    pub facilities: u64,
    /// Their places.
    pub places: u64,
    /// The share of the target with some place in reach.
    pub served_share: Option<f64>,
    /// The gap (persons not matched by places in reach at the territory's ratio).
    pub gap: f64,
    /// The standard the gap is measured at: places per person over the whole territory
    /// in the first variant (the baseline), so that variants compare.
    pub reference: Option<f64>,
    /// The catchment used, in km.
    pub catchment_km: f64,
    /// Years of population projection (0: today's).
    pub years: u32,
}

struct Outcome {
    totals: Totals,
    /// Per unit: potential, places, accessibility, gap; and the pairs (to describe units).
    units: BTreeMap<Unit, (f64, f64, Option<f64>, f64)>,
    pairs: Vec<Pair>,
}

/// Measures a variant; the gap is taken at `standard` places per person when given (the
/// baseline's, so that variants compare), else at the variant's own ratio.
async fn outcome(req: &Request, v: &Variant<'_>, rates: &RateTable, standard: Option<f64>) -> Result<Outcome> {
    let changes = v.scenario.map(|s| s.changes.as_slice()).unwrap_or_default();
    let catchment = v.scenario.and_then(Scenario::catchment_km).unwrap_or(req.catchment_km);
    let res = req.level.grid_res();
    let (years, demand) = match v.scenario.and_then(Scenario::projection) {
        Some((years, o)) => {
            let table = rates.clone().with(o)?;
            let projection = cohort::project(base_ages(v.ctx).await?, &table, years)?;
            (years, projected_pairs(v.ctx, &req.target, res, &projection, years as usize).await?)
        }
        None => (0, territory::demand_pairs(v.ctx, &req.target, res, false).await?),
    };
    let facilities = apply(v.ctx, facilities(v.ctx).await?, changes).await?;
    let supply = supply_pairs(&facilities, &req.facility_types, res);
    let field = territory::access_field(&demand, &supply, req.method, catchment);
    let reference = standard.or(field.reference);
    let cell_access = |p: &Pair| p.cell.and_then(|c| field.by_cell.get(&c).copied().flatten());
    let gap_of = |p: &Pair| match (cell_access(p), reference) {
        (Some(a), Some(r)) if r > 0.0 => p.a * (1.0 - a / r).max(0.0),
        _ => p.a,
    };
    let placed: Vec<Pair> = demand.into_iter().filter(|p| p.cell.is_some()).collect();
    let mut units: BTreeMap<Unit, (f64, f64, Option<f64>, f64)> = BTreeMap::new();
    let (mut served, mut total) = (0.0, 0.0);
    for (unit, ps) in territory::group(&placed, req.level, req.area.as_ref()) {
        let n: f64 = ps.iter().map(|p| p.a).sum();
        let access = match unit {
            Unit::Cell(c) => field.by_cell.get(&c).copied().flatten(),
            Unit::Area(_) => (n > 0.0).then(|| ps.iter().map(|p| p.a * cell_access(p).unwrap_or(0.0)).sum::<f64>() / n),
        };
        served += ps.iter().filter(|p| cell_access(p).is_some_and(|a| a > 0.0)).map(|p| p.a).sum::<f64>();
        total += n;
        units.insert(unit, (n, 0.0, access, ps.iter().map(|p| gap_of(p)).sum()));
    }
    let (mut n_fac, mut n_places) = (0.0, 0.0);
    for (unit, ps) in territory::group(&supply, req.level, req.area.as_ref()) {
        let places: f64 = ps.iter().map(|p| p.b).sum();
        n_fac += ps.iter().map(|p| p.a).sum::<f64>();
        n_places += places;
        units.entry(unit).or_insert((0.0, 0.0, None, 0.0)).1 = places;
    }
    let gap = units.values().map(|u| u.3).sum();
    let mut pairs = placed;
    pairs.extend(supply);
    Ok(Outcome {
        totals: Totals {
            label: v.label.to_owned(),
            potential: count(total),
            facilities: count(n_fac),
            places: count(n_places),
            served_share: (total > 0.0).then(|| served / total),
            gap,
            reference,
            catchment_km: catchment,
            years,
        },
        units,
        pairs,
    })
}

/// The variants side by side.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Each variant's totals, in order.
    pub totals: Vec<Totals>,
    /// One row per unit: the unit columns, then for each variant `L_potential`,
    /// `L_places`, `L_accessibility`, `L_gap` and, after the first, `L_d_potential`,
    /// `L_d_places`, `L_d_accessibility`, `L_d_gap` (the change from the first).
    pub rows: RecordBatch,
}

/// Measures each variant and lays them side by side, the first being the reference of
/// the changes; every gap is measured at the first variant's places per person (adding
/// places never widens a gap, closing never narrows one). Counts of persons under the threshold are suppressed, with the gap and
/// the changes that would reveal them.
pub async fn compare(req: &Request, variants: &[Variant<'_>], rates: &RateTable) -> Result<Comparison> {
    let Some(first) = variants.first() else {
        return Err(Error::Invalid("compare: give at least one scenario".into()));
    };
    let areas = territory::prepare(first.ctx, req).await?;
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(variants.len());
    for v in variants {
        let standard = outcomes.first().and_then(|o| o.totals.reference);
        outcomes.push(outcome(req, v, rates, standard).await?);
    }
    let mut all: BTreeMap<Unit, Vec<&Pair>> = BTreeMap::new();
    for o in &outcomes {
        for p in &o.pairs {
            if let Some(u) = p.unit(req.level).filter(|_| req.area.as_ref().is_none_or(|a| p.within(a))) {
                all.entry(u).or_default().push(p);
            }
        }
    }
    let info: Vec<territory::UnitInfo> =
        all.iter().map(|(u, ps)| territory::describe(req.level, u, territory::main_pair(ps), &areas)).collect();
    let mut fields = territory::unit_fields();
    let mut cols = territory::unit_columns(&info);
    let get = |o: &Outcome, u: &Unit| o.units.get(u).copied().unwrap_or((0.0, 0.0, None, 0.0));
    let published = |o: &Outcome| {
        let raw: Vec<u64> = all.keys().map(|u| count(get(o, u).0)).collect();
        crate::disclosure::hide_list(&raw, req.threshold)
    };
    let base_pot = outcomes.first().map(published).unwrap_or_default();
    for (k, (o, v)) in outcomes.iter().zip(variants).enumerate() {
        let l = v.label;
        let vals: Vec<_> = all.keys().map(|u| get(o, u)).collect();
        let pot: Vec<Option<u64>> = published(o);
        fields.push(Field::new(format!("{l}_potential"), DataType::UInt64, true));
        fields.push(Field::new(format!("{l}_places"), DataType::UInt64, false));
        fields.push(Field::new(format!("{l}_accessibility"), DataType::Float64, true));
        fields.push(Field::new(format!("{l}_gap"), DataType::Float64, true));
        cols.push(Arc::new(UInt64Array::from(pot.clone())) as ArrayRef);
        cols.push(Arc::new(UInt64Array::from_iter_values(vals.iter().map(|x| count(x.1)))));
        cols.push(Arc::new(Float64Array::from(vals.iter().map(|x| x.2).collect::<Vec<_>>())));
        cols.push(Arc::new(Float64Array::from(vals.iter().zip(&pot).map(|(x, p)| p.map(|_| x.3)).collect::<Vec<_>>())));
        if k > 0 {
            let base: Vec<_> = all.keys().map(|u| get(&outcomes[0], u)).collect();
            let hidden = |i: usize| base_pot[i].is_none() || pot[i].is_none();
            let n = vals.len();
            fields.push(Field::new(format!("{l}_d_potential"), DataType::Int64, true));
            fields.push(Field::new(format!("{l}_d_places"), DataType::Int64, false));
            fields.push(Field::new(format!("{l}_d_accessibility"), DataType::Float64, true));
            fields.push(Field::new(format!("{l}_d_gap"), DataType::Float64, true));
            cols.push(Arc::new(Int64Array::from(
                (0..n)
                    .map(|i| (!hidden(i)).then(|| count(vals[i].0) as i64 - count(base[i].0) as i64))
                    .collect::<Vec<_>>(),
            )));
            cols.push(Arc::new(Int64Array::from_iter_values(
                (0..n).map(|i| count(vals[i].1) as i64 - count(base[i].1) as i64),
            )));
            cols.push(Arc::new(Float64Array::from(
                (0..n)
                    .map(|i| {
                        Some(vals[i].2.unwrap_or(0.0) - base[i].2.unwrap_or(0.0))
                            .filter(|_| vals[i].2.is_some() || base[i].2.is_some())
                    })
                    .collect::<Vec<_>>(),
            )));
            cols.push(Arc::new(Float64Array::from(
                (0..n).map(|i| (!hidden(i)).then(|| vals[i].3 - base[i].3)).collect::<Vec<_>>(),
            )));
        }
    }
    let rows = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?;
    Ok(Comparison { totals: outcomes.into_iter().map(|o| o.totals).collect(), rows })
}

#[allow(clippy::type_complexity)] // the columns, built side by side
/// Projected demand of a target per NIL (and comune outside Milan's NIL), year by year.
pub async fn projected_demand(
    ctx: &SessionContext,
    target: &Target,
    years: u32,
    rates: &RateTable,
    threshold: u64,
) -> Result<RecordBatch> {
    let projection = cohort::project(base_ages(ctx).await?, rates, years)?;
    let areas = Areas::load(ctx).await?;
    let mut by: BTreeMap<(Option<i32>, String), Vec<f64>> = BTreeMap::new();
    for year in 0..=years as usize {
        for p in projected_pairs(ctx, target, territory::AREA_GRID_RES, &projection, year).await? {
            let e = by.entry((p.nil, p.comune.clone())).or_insert_with(|| vec![0.0; years as usize + 1]);
            e[year] += p.a;
        }
    }
    let mut rows: (
        Vec<Option<i32>>,
        Vec<String>,
        Vec<Option<String>>,
        Vec<u64>,
        Vec<Option<u64>>,
        Vec<bool>,
        Vec<u64>,
    ) = Default::default();
    let empty = vec![0.0; years as usize + 1];
    for key in projection.by_area.keys() {
        let (nil, comune) = (&key.nil, &key.comune);
        let per_year = by.get(&(key.nil, key.comune.clone())).unwrap_or(&empty);
        let name = match nil {
            Some(n) => areas.name(territory::AreaKind::Nil, &n.to_string()),
            None => areas.name(territory::AreaKind::Comune, comune),
        };
        for (year, v) in per_year.iter().enumerate() {
            let shown = suppress(count(*v), threshold);
            rows.0.push(*nil);
            rows.1.push(comune.clone());
            rows.2.push(name.map(str::to_owned));
            rows.3.push(year as u64);
            rows.4.push(shown);
            rows.5.push(shown.is_none());
            rows.6.push(count(projection.total(key, year)));
        }
    }
    let schema = Schema::new(vec![
        Field::new("nil_id", DataType::Int32, true),
        Field::new("comune_istat", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("years_ahead", DataType::UInt64, false),
        Field::new("potential", DataType::UInt64, true),
        Field::new("suppressed", DataType::Boolean, false),
        Field::new("residents", DataType::UInt64, false),
    ]);
    Ok(RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(datafusion::arrow::array::Int32Array::from(rows.0)),
            Arc::new(StringArray::from(rows.1)),
            Arc::new(StringArray::from(rows.2)),
            Arc::new(UInt64Array::from(rows.3)),
            Arc::new(UInt64Array::from(rows.4)),
            Arc::new(BooleanArray::from(rows.5)),
            Arc::new(UInt64Array::from(rows.6)),
        ],
    )?)
}

#[allow(clippy::type_complexity)] // the columns, built side by side
/// Projected residents per NIL (and comune outside them) and age band, year by year.
pub async fn projected_population(
    ctx: &SessionContext,
    years: u32,
    rates: &RateTable,
    threshold: u64,
) -> Result<RecordBatch> {
    let projection = cohort::project(base_ages(ctx).await?, rates, years)?;
    let areas = Areas::load(ctx).await?;
    let mut rows: (
        Vec<Option<i32>>,
        Vec<String>,
        Vec<Option<String>>,
        Vec<&str>,
        Vec<u64>,
        Vec<Option<u64>>,
        Vec<bool>,
    ) = Default::default();
    for key in projection.by_area.keys() {
        let name = match key.nil {
            Some(n) => areas.name(territory::AreaKind::Nil, &n.to_string()),
            None => areas.name(territory::AreaKind::Comune, &key.comune),
        };
        for (b, (_, _, label)) in cohort::BANDS.iter().enumerate() {
            for year in 0..=years as usize {
                let shown = suppress(count(projection.band(key, b, year)), threshold);
                rows.0.push(key.nil);
                rows.1.push(key.comune.clone());
                rows.2.push(name.map(str::to_owned));
                rows.3.push(label);
                rows.4.push(year as u64);
                rows.5.push(shown);
                rows.6.push(shown.is_none());
            }
        }
    }
    let schema = Schema::new(vec![
        Field::new("nil_id", DataType::Int32, true),
        Field::new("comune_istat", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("age_band", DataType::Utf8, false),
        Field::new("years_ahead", DataType::UInt64, false),
        Field::new("residents", DataType::UInt64, true),
        Field::new("suppressed", DataType::Boolean, false),
    ]);
    Ok(RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(datafusion::arrow::array::Int32Array::from(rows.0)),
            Arc::new(StringArray::from(rows.1)),
            Arc::new(StringArray::from(rows.2)),
            Arc::new(StringArray::from(rows.3)),
            Arc::new(UInt64Array::from(rows.4)),
            Arc::new(UInt64Array::from(rows.5)),
            Arc::new(BooleanArray::from(rows.6)),
        ],
    )?)
}

/// The saved scenarios, in the warehouse's `scenarios` table.
#[derive(Debug, Clone)]
pub struct Store {
    wh: Warehouse,
}

fn store_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("saved_at", DataType::Utf8, false),
        Field::new("deleted", DataType::Boolean, false),
        Field::new("scenario", DataType::Utf8, false),
    ]))
}

impl Store {
    /// The store of a warehouse.
    pub fn new(wh: Warehouse) -> Store {
        Store { wh }
    }

    /// Every save, in order: (id, deleted, scenario).
    async fn log(&self) -> Result<Vec<(String, bool, String)>> {
        if !self.wh.has_table(TABLE).await? {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for b in self.wh.read_table(TABLE).await? {
            let (id, at, deleted, json) = (strings(&b, 0)?, strings(&b, 2)?, b.column(3).clone(), strings(&b, 4)?);
            let deleted = datafusion::arrow::compute::cast(&deleted, &DataType::Boolean)?;
            let deleted = deleted
                .as_any()
                .downcast_ref::<BooleanArray>()
                .cloned()
                .unwrap_or_else(|| BooleanArray::from(vec![false; b.num_rows()]));
            for i in 0..b.num_rows() {
                out.push((at.value(i).to_owned(), id.value(i).to_owned(), deleted.value(i), json.value(i).to_owned()));
            }
        }
        out.sort();
        Ok(out.into_iter().map(|(_, id, d, j)| (id, d, j)).collect())
    }

    /// The scenarios saved and not deleted, by name.
    pub async fn list(&self) -> Result<Vec<Scenario>> {
        let mut latest: HashMap<String, Option<String>> = HashMap::new();
        for (id, deleted, json) in self.log().await? {
            latest.insert(id, (!deleted).then_some(json));
        }
        let mut out = Vec::new();
        for json in latest.into_values().flatten() {
            out.push(
                serde_json::from_str::<Scenario>(&json)
                    .map_err(|e| Error::Invalid(format!("a saved scenario does not read: {e}")))?,
            );
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// One scenario.
    pub async fn get(&self, id: &str) -> Result<Scenario> {
        let all = self.list().await?;
        all.iter().find(|s| s.id == id).cloned().ok_or_else(|| {
            let ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
            Error::NotFound(format!(
                "scenario '{id}' does not exist; saved: {}",
                if ids.is_empty() { "none yet".to_owned() } else { ids.join(", ") }
            ))
        })
    }

    /// Saves a scenario (a new one, or a new version of one with the same id), with
    /// the time and, if it has none, the base it is laid over.
    pub async fn save(&self, s: &Scenario, saved_at: &str) -> Result<Scenario> {
        let mut s = s.clone();
        s.saved_at = saved_at.to_owned();
        self.append_row(&s.id, &s.saved_at, false, &s).await?;
        Ok(s)
    }

    /// Deletes a scenario (its history stays in the table).
    pub async fn delete(&self, id: &str, at: &str) -> Result<()> {
        let s = self.get(id).await?;
        self.append_row(&s.id, at, true, &s).await
    }

    async fn append_row(&self, id: &str, at: &str, deleted: bool, s: &Scenario) -> Result<()> {
        let json = serde_json::to_string(s).map_err(|e| Error::Invalid(e.to_string()))?;
        let batch = RecordBatch::try_new(
            store_schema(),
            vec![
                Arc::new(StringArray::from(vec![id])),
                Arc::new(StringArray::from(vec![s.name.as_str()])),
                Arc::new(StringArray::from(vec![at])),
                Arc::new(BooleanArray::from(vec![deleted])),
                Arc::new(StringArray::from(vec![json])),
            ],
        )?;
        self.wh.append_table(TABLE, vec![batch]).await?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_as_planners_write_them() {
        let json = r#"[{"op":"open","facility_type":"CDI","places":30,"nil":12},
            {"op":"open","facility_type":"CDI","places":25,"lat":45.46,"lon":9.19,"name":"CDI Duomo"},
            {"op":"open","facility_type":"RSA","places":80,"cell":"891f99cdd4fffff"},
            {"op":"close","facility_id":"F0001"},{"op":"resize","facility_id":"F0002","places":40},
            {"op":"catchment","km":2.0},{"op":"projection","years":3}]"#;
        let changes: Vec<Change> = serde_json::from_str(json).unwrap();
        assert_eq!(
            changes[0],
            Change::Open { facility_type: "CDI".into(), places: 30, site: Site::Nil { nil: 12 }, name: None }
        );
        assert!(matches!(&changes[1], Change::Open { site: Site::Point { lat, .. }, .. } if *lat == 45.46));
        assert!(matches!(&changes[2], Change::Open { site: Site::Cell { .. }, .. }));
        let s = Scenario::new("Nuovi CDI — Municipio 9", "", changes).unwrap();
        assert_eq!(s.id, "nuovi_cdi_municipio_9");
        assert_eq!(s.catchment_km(), Some(2.0));
        assert_eq!(s.projection(), Some((3, Overrides::default())));
        let back: Scenario = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert!(Scenario::new(" — ", "", vec![]).unwrap_err().to_string().contains("name"));
        assert!(Scenario::new("Baseline", "", vec![]).is_err());
        assert_eq!(slug("Città più vicina"), "citta_piu_vicina");
    }
}
