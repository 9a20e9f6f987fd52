//! Demand, supply, accessibility and gaps of a target, per H3 cell (res 7–10), NIL,
//! municipio and comune.
//!
//! ```text
//!  persons / households ──rule──▶ demand pairs   (cell, NIL, municipio, comune) → potential, expressed
//!  facilities ──facility types──▶ supply pairs   (cell, NIL, municipio, comune) → facilities, places
//!  pairs by cell ──fca::two_stage (haversine between cell centres)──▶ A per cell
//!  A_ref = Σ places / Σ demand;  gap = demand · max(0, 1 − A / A_ref)   (no place in reach: gap = demand)
//!  pairs ──level, area filter──▶ units ──suppression──▶ one RecordBatch per measure
//! ```
//!
//! Accessibility is always computed over the whole territory (an area filter only
//! chooses the rows shown: people across a border compete for the same places). Area
//! rows aggregate their (cell, area) pairs: demand and gap add up, accessibility is the
//! demand-weighted mean of the cells' values (a cell with no place in reach counts 0).
//! Counts of persons under the threshold are suppressed, and the gap with them (a gap
//! is at most the demand); supply (places in facilities) is public.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array as _, ArrayRef, BooleanArray, Float64Array, Int32Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::prelude::SessionContext;
use h3o::{CellIndex, LatLng};

use crate::disclosure::hide_list;
use crate::fca::{self, Cost, Weight};
use crate::targets::{Kind, Target};
use crate::views::{self, Needs, Present};
use crate::{Error, Result, i32s, i64s, strings, u64s};

/// The cell resolutions a measure can be asked at.
pub const CELL_RESOLUTIONS: std::ops::RangeInclusive<u8> = 7..=crate::FINEST_RES;

/// The resolution accessibility is computed at for area rows.
pub const AREA_GRID_RES: u8 = 9;

/// The default catchment, in kilometres.
pub const DEFAULT_CATCHMENT_KM: f64 = 3.0;

/// The catchments accepted, in kilometres.
pub const CATCHMENT_KM: std::ops::RangeInclusive<f64> = 0.1..=50.0;

/// The ISTAT code of Milan (NIL and municipi are Milan's).
const MILANO: &str = mosaico_domain::MILANO;

/// The units rows are given for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// H3 cells at a resolution (7–10).
    Cell(u8),
    /// Nuclei d'Identità Locale (Milan).
    Nil,
    /// Municipi (Milan).
    Municipio,
    /// Comuni.
    Comune,
}

impl Level {
    /// The level codes accepted.
    pub const CODES: [&'static str; 4] = ["cell", "nil", "municipio", "comune"];

    /// Parses a level code and, for cells, a resolution (default 9).
    pub fn parse(level: &str, res: Option<u8>) -> Result<Level> {
        match level {
            "cell" => {
                let res = res.unwrap_or(AREA_GRID_RES);
                if !CELL_RESOLUTIONS.contains(&res) {
                    return Err(Error::Invalid(format!(
                        "res: {res} is out of range; cells are given at resolutions {}..={}",
                        CELL_RESOLUTIONS.start(),
                        CELL_RESOLUTIONS.end()
                    )));
                }
                Ok(Level::Cell(res))
            }
            "nil" => Ok(Level::Nil),
            "municipio" => Ok(Level::Municipio),
            "comune" => Ok(Level::Comune),
            other => Err(Error::Invalid(format!(
                "level: '{other}' is not a level; expected one of {}",
                Level::CODES.join(", ")
            ))),
        }
    }

    /// The level's code.
    pub fn code(self) -> &'static str {
        match self {
            Level::Cell(_) => "cell",
            Level::Nil => "nil",
            Level::Municipio => "municipio",
            Level::Comune => "comune",
        }
    }

    /// The grid resolution the measure works on.
    pub fn grid_res(self) -> u8 {
        match self {
            Level::Cell(r) => r,
            _ => AREA_GRID_RES,
        }
    }
}

/// A kind of area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AreaKind {
    /// A NIL.
    Nil,
    /// A municipio of Milan.
    Municipio,
    /// A comune.
    Comune,
}

impl AreaKind {
    /// The code used in `areas.kind` and in filters (`nil:12`).
    pub fn code(self) -> &'static str {
        match self {
            AreaKind::Nil => "nil",
            AreaKind::Municipio => "municipio",
            AreaKind::Comune => "comune",
        }
    }
}

/// An area the rows are restricted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// Its kind.
    pub kind: AreaKind,
    /// Its id (NIL number, municipio number, ISTAT code).
    pub id: String,
}

impl Place {
    /// Parses `nil:12`, `municipio:3` or `comune:015146`.
    pub fn parse(s: &str) -> Result<Place> {
        let bad = || {
            Error::Invalid(format!(
                "area: '{s}' is not an area; write nil:<id>, municipio:<number> or comune:<ISTAT code> (nil:12, municipio:3, comune:015146)"
            ))
        };
        let (kind, id) = s.split_once(':').ok_or_else(bad)?;
        let kind = match kind {
            "nil" => AreaKind::Nil,
            "municipio" => AreaKind::Municipio,
            "comune" => AreaKind::Comune,
            _ => return Err(bad()),
        };
        if id.is_empty() {
            return Err(bad());
        }
        Ok(Place { kind, id: id.to_owned() })
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.code(), self.id)
    }
}

/// An accessibility method of the 2SFCA family (PySAL `access`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// 2SFCA: flat weight inside the catchment.
    TwoStep,
    /// Enhanced 2SFCA: weights 1, 0.68, 0.22 over the thirds of the catchment.
    Enhanced,
    /// Gaussian decay, σ = a third of the catchment.
    Gaussian,
}

impl Method {
    /// The method codes accepted.
    pub const CODES: [&'static str; 3] = ["2sfca", "e2sfca", "g2sfca"];

    /// Parses a method code.
    pub fn parse(s: &str) -> Result<Method> {
        match s {
            "2sfca" => Ok(Method::TwoStep),
            "e2sfca" => Ok(Method::Enhanced),
            "g2sfca" => Ok(Method::Gaussian),
            _ => Err(Error::Invalid(format!(
                "method: '{s}' is not a method; expected one of {}",
                Method::CODES.join(", ")
            ))),
        }
    }

    /// The method's code.
    pub fn code(self) -> &'static str {
        match self {
            Method::TwoStep => "2sfca",
            Method::Enhanced => "e2sfca",
            Method::Gaussian => "g2sfca",
        }
    }

    /// The distance weight for a catchment.
    pub fn weight(self, catchment_km: f64) -> Weight {
        match self {
            Method::TwoStep => Weight::Flat,
            Method::Enhanced => fca::e2sfca_steps(catchment_km),
            Method::Gaussian => Weight::Gaussian { sigma: catchment_km / 3.0 },
        }
    }
}

/// What a measure is asked for.
#[derive(Debug, Clone)]
pub struct Request {
    /// The target (demand).
    pub target: Target,
    /// The facility types counted as supply (by default the target's).
    pub facility_types: Vec<String>,
    /// The units of the rows.
    pub level: Level,
    /// Only the rows in this area.
    pub area: Option<Place>,
    /// The accessibility method.
    pub method: Method,
    /// The catchment, in kilometres.
    pub catchment_km: f64,
    /// Counts of persons under this are suppressed.
    pub threshold: u64,
}

impl Request {
    /// A request for a target with the defaults: res-9 cells, the whole territory,
    /// E2SFCA over 3 km, the target's facility types, the default threshold.
    pub fn new(target: &Target) -> Request {
        Request {
            target: target.clone(),
            facility_types: target.facility_types.clone(),
            level: Level::Cell(AREA_GRID_RES),
            area: None,
            method: Method::Enhanced,
            catchment_km: DEFAULT_CATCHMENT_KM,
            threshold: crate::DEFAULT_THRESHOLD,
        }
    }

    /// Sets the catchment, refusing one out of range.
    pub fn with_catchment(mut self, km: f64) -> Result<Request> {
        if !CATCHMENT_KM.contains(&km) || km.is_nan() {
            return Err(Error::Invalid(format!(
                "catchment_km: {km} is out of range; use {}..={} km",
                CATCHMENT_KM.start(),
                CATCHMENT_KM.end()
            )));
        }
        self.catchment_km = km;
        Ok(self)
    }

    /// Sets the facility types, refusing unknown ones.
    pub fn with_facility_types(mut self, types: Vec<String>) -> Result<Request> {
        let known: Vec<&str> = mosaico_domain::services::FACILITY_TYPES.iter().map(|f| f.code).collect();
        if types.is_empty() {
            return Err(Error::Invalid(format!("service: give at least one facility type: {}", known.join(", "))));
        }
        for t in &types {
            if !known.contains(&t.as_str()) {
                return Err(Error::Invalid(format!(
                    "service: '{t}' is not a facility type; expected one of {}",
                    known.join(", ")
                )));
            }
        }
        self.facility_types = types;
        Ok(self)
    }
}

/// One (cell, area) pair and its two counts (fractional under a population projection).
#[derive(Debug, Clone)]
pub(crate) struct Pair {
    pub(crate) cell: Option<u64>,
    pub(crate) nil: Option<i32>,
    pub(crate) municipio: Option<i32>,
    pub(crate) comune: String,
    /// Demand: potential; supply: facilities.
    pub(crate) a: f64,
    /// Demand: expressed; supply: places.
    pub(crate) b: f64,
}

impl Pair {
    pub(crate) fn within(&self, place: &Place) -> bool {
        let id = place.id.parse::<i32>().ok();
        match place.kind {
            AreaKind::Nil => self.nil.is_some() && self.nil == id,
            AreaKind::Municipio => self.municipio.is_some() && self.municipio == id,
            AreaKind::Comune => self.comune == place.id,
        }
    }

    pub(crate) fn unit(&self, level: Level) -> Option<Unit> {
        match level {
            Level::Cell(_) => self.cell.map(Unit::Cell),
            Level::Nil => self.nil.map(|n| Unit::Area(n.to_string())),
            Level::Municipio => self.municipio.map(|m| Unit::Area(m.to_string())),
            Level::Comune => Some(Unit::Area(self.comune.clone())),
        }
    }
}

/// A row's unit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Unit {
    Cell(u64),
    Area(String),
}

/// The rows of a query; from the session's [`crate::cache`] when it has one.
pub(crate) async fn batches(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    Ok(crate::cache::remember(ctx, sql, || async { ctx.sql(sql).await?.collect().await }).await?)
}

pub(crate) fn read_pairs(batches: &[RecordBatch]) -> Result<Vec<Pair>> {
    let mut out = Vec::new();
    for b in batches {
        let (cell, nil, mun, comune, a, x) =
            (u64s(b, 0)?, i32s(b, 1)?, i32s(b, 2)?, strings(b, 3)?, i64s(b, 4)?, i64s(b, 5)?);
        for i in 0..b.num_rows() {
            let opt_i32 = |c: &Int32Array| (!c.is_null(i)).then(|| c.value(i));
            out.push(Pair {
                cell: (!cell.is_null(i)).then(|| cell.value(i)),
                nil: opt_i32(&nil),
                municipio: opt_i32(&mun),
                comune: comune.value(i).to_owned(),
                a: a.value(i) as f64,
                b: x.value(i) as f64,
            });
        }
    }
    Ok(out)
}

/// The SELECT of the rows a target counts, with the columns its rule reads and, when
/// `expressed` is asked for, the flag of those in care in the target's area.
pub(crate) fn target_rows(ctx: &SessionContext, target: &Target, expressed: bool) -> Result<(String, String)> {
    if !ctx.table_exist("population")? {
        return Err(Error::Invalid(
            "the warehouse has no population table; load the civil registry first (mosaico ingest registry <file>)"
                .into(),
        ));
    }
    let care = if expressed { views::care_column(&target.area) } else { "FALSE".to_owned() };
    let present = Present::of(ctx)?;
    let needs = Needs::of(&format!("{} {care}", target.rule));
    let from = match target.kind {
        Kind::Person => views::persons_sql(needs, present),
        Kind::Household => views::households_sql(needs, present),
    };
    Ok((from, care))
}

/// Demand pairs at the grid resolution: potential (rule) and, if asked, expressed (rule
/// and in care; 0 otherwise, sparing the join with the cases).
pub(crate) async fn demand_pairs(ctx: &SessionContext, target: &Target, res: u8, expressed: bool) -> Result<Vec<Pair>> {
    let (from, care) = target_rows(ctx, target, expressed)?;
    let sql = format!(
        "SELECT h3_parent(h3_10, {res}) AS cell, nil_id, municipio, comune_istat, count(*) AS potential, \
         count(*) FILTER (WHERE {care}) AS expressed \
         FROM ({from}) t WHERE ({rule}) GROUP BY 1, 2, 3, 4",
        rule = target.rule
    );
    read_pairs(&batches(ctx, &sql).await.map_err(|e| rule_error(target, e))?)
}

pub(crate) fn rule_error(target: &Target, e: Error) -> Error {
    match e {
        Error::Query(q) => {
            Error::Invalid(format!("target '{}': its rule `{}` does not run: {q}", target.id, target.rule))
        }
        other => other,
    }
}

/// A count summed from pairs, as a whole number (projected counts are fractional).
pub(crate) fn count(x: f64) -> u64 {
    x.round().max(0.0) as u64
}

/// Supply pairs at the grid resolution: facilities and places of the given types.
async fn supply_pairs(ctx: &SessionContext, types: &[String], res: u8) -> Result<Vec<Pair>> {
    if !ctx.table_exist("facilities")? {
        return Ok(Vec::new());
    }
    let list: Vec<String> = types.iter().map(|t| format!("'{}'", t.replace('\'', "''"))).collect();
    let sql = format!(
        "SELECT h3_parent(h3_10, {res}) AS cell, nil_id, municipio, comune_istat, count(*) AS facilities, \
         sum(capacity) AS places FROM facilities WHERE facility_type IN ({}) GROUP BY 1, 2, 3, 4",
        list.join(", ")
    );
    read_pairs(&batches(ctx, &sql).await?)
}

/// Names of areas, and which municipio a NIL lies in.
#[derive(Debug, Default)]
pub(crate) struct Areas {
    /// (kind, id) → (name, parent id).
    by_id: HashMap<(String, String), (String, Option<String>)>,
}

impl Areas {
    pub(crate) async fn load(ctx: &SessionContext) -> Result<Areas> {
        if !ctx.table_exist("areas")? {
            return Ok(Areas::default());
        }
        let mut by_id = HashMap::new();
        for b in batches(ctx, "SELECT kind, id, name, parent_id FROM areas").await? {
            let (kind, id, name, parent) = (strings(&b, 0)?, strings(&b, 1)?, strings(&b, 2)?, strings(&b, 3)?);
            for i in 0..b.num_rows() {
                by_id.insert(
                    (kind.value(i).to_owned(), id.value(i).to_owned()),
                    (name.value(i).to_owned(), (!parent.is_null(i)).then(|| parent.value(i).to_owned())),
                );
            }
        }
        Ok(Areas { by_id })
    }

    pub(crate) fn name(&self, kind: AreaKind, id: &str) -> Option<&str> {
        self.by_id.get(&(kind.code().to_owned(), id.to_owned())).map(|(n, _)| n.as_str())
    }

    /// Refuses an area that does not exist, listing those that do.
    fn check(&self, place: &Place) -> Result<()> {
        if self.name(place.kind, &place.id).is_some() {
            return Ok(());
        }
        let mut ids: Vec<&str> =
            self.by_id.keys().filter(|(k, _)| k == place.kind.code()).map(|(_, id)| id.as_str()).collect();
        ids.sort_by_key(|id| (id.parse::<i64>().unwrap_or(i64::MAX), *id));
        let shown = if ids.len() > 40 {
            format!("{} … {} ({} in all)", ids[..20].join(", "), ids[ids.len() - 5..].join(", "), ids.len())
        } else {
            ids.join(", ")
        };
        Err(Error::Invalid(if ids.is_empty() {
            format!("area: the warehouse has no {} areas; load the territory first", place.kind.code())
        } else {
            format!(
                "area: {place} holds no cells: there is no {} '{}'; known ids: {shown}",
                place.kind.code(),
                place.id
            )
        }))
    }
}

/// A row's unit as shown: id, name, and where it lies.
#[derive(Debug, Clone, Default)]
pub(crate) struct UnitInfo {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) hex_id: Option<String>,
    pub(crate) nil_id: Option<i32>,
    pub(crate) municipio: Option<i32>,
    pub(crate) comune_istat: Option<String>,
}

/// Describes units from the pairs they were built of (a cell lies where most of its
/// counted rows are).
pub(crate) fn describe(level: Level, unit: &Unit, main: Option<&Pair>, areas: &Areas) -> UnitInfo {
    match (level, unit) {
        (_, Unit::Cell(c)) => {
            let hex = CellIndex::try_from(*c).map(|c| c.to_string()).unwrap_or_else(|_| format!("{c:x}"));
            let (nil, mun, com) = main.map_or((None, None, None), |p| (p.nil, p.municipio, Some(p.comune.clone())));
            let name = match (nil, &com) {
                (Some(n), _) => areas.name(AreaKind::Nil, &n.to_string()).map(str::to_owned),
                (None, Some(c)) => areas.name(AreaKind::Comune, c).map(str::to_owned),
                _ => None,
            };
            UnitInfo { id: hex.clone(), name, hex_id: Some(hex), nil_id: nil, municipio: mun, comune_istat: com }
        }
        (Level::Nil, Unit::Area(id)) => UnitInfo {
            id: id.clone(),
            name: areas.name(AreaKind::Nil, id).map(str::to_owned),
            nil_id: id.parse().ok(),
            municipio: main.and_then(|p| p.municipio),
            comune_istat: Some(MILANO.to_owned()),
            ..UnitInfo::default()
        },
        (Level::Municipio, Unit::Area(id)) => UnitInfo {
            id: id.clone(),
            name: areas.name(AreaKind::Municipio, id).map(str::to_owned),
            municipio: id.parse().ok(),
            comune_istat: Some(MILANO.to_owned()),
            ..UnitInfo::default()
        },
        (_, Unit::Area(id)) => UnitInfo {
            id: id.clone(),
            name: areas.name(AreaKind::Comune, id).map(str::to_owned),
            comune_istat: Some(id.clone()),
            ..UnitInfo::default()
        },
    }
}

/// Groups pairs into units: for each unit, its pairs (in input order).
pub(crate) fn group<'p>(pairs: &'p [Pair], level: Level, area: Option<&Place>) -> BTreeMap<Unit, Vec<&'p Pair>> {
    let mut units: BTreeMap<Unit, Vec<&Pair>> = BTreeMap::new();
    for p in pairs.iter().filter(|p| area.is_none_or(|a| p.within(a))) {
        if let Some(u) = p.unit(level) {
            units.entry(u).or_default().push(p);
        }
    }
    units
}

pub(crate) fn main_pair<'p>(pairs: &[&'p Pair]) -> Option<&'p Pair> {
    pairs.iter().copied().max_by(|x, y| (x.a + x.b).total_cmp(&(y.a + y.b)).then(y.nil.cmp(&x.nil)))
}

/// The columns every measure starts with.
pub(crate) fn unit_fields() -> Vec<Field> {
    vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("hex_id", DataType::Utf8, true),
        Field::new("nil_id", DataType::Int32, true),
        Field::new("municipio", DataType::Int32, true),
        Field::new("comune_istat", DataType::Utf8, true),
    ]
}

pub(crate) fn unit_columns(units: &[UnitInfo]) -> Vec<ArrayRef> {
    vec![
        Arc::new(StringArray::from_iter_values(units.iter().map(|u| u.id.as_str()))),
        Arc::new(units.iter().map(|u| u.name.as_deref()).collect::<StringArray>()),
        Arc::new(units.iter().map(|u| u.hex_id.as_deref()).collect::<StringArray>()),
        Arc::new(units.iter().map(|u| u.nil_id).collect::<Int32Array>()),
        Arc::new(units.iter().map(|u| u.municipio).collect::<Int32Array>()),
        Arc::new(units.iter().map(|u| u.comune_istat.as_deref()).collect::<StringArray>()),
    ]
}

pub(crate) fn schema_with(extra: &[(&str, DataType, bool)]) -> SchemaRef {
    let mut fields = unit_fields();
    fields.extend(extra.iter().map(|(n, t, null)| Field::new(*n, t.clone(), *null)));
    Arc::new(Schema::new(fields))
}

/// The schema of [`demand`].
pub fn demand_schema() -> SchemaRef {
    schema_with(&[
        ("potential", DataType::UInt64, true),
        ("expressed", DataType::UInt64, true),
        ("suppressed", DataType::Boolean, false),
    ])
}

/// The schema of [`supply`].
pub fn supply_schema() -> SchemaRef {
    schema_with(&[("facilities", DataType::UInt64, false), ("places", DataType::UInt64, false)])
}

/// The schema of [`accessibility`].
pub fn accessibility_schema() -> SchemaRef {
    schema_with(&[
        ("potential", DataType::UInt64, true),
        ("suppressed", DataType::Boolean, false),
        ("accessibility", DataType::Float64, true),
        ("relative", DataType::Float64, true),
    ])
}

/// The schema of [`gaps`].
pub fn gaps_schema() -> SchemaRef {
    schema_with(&[
        ("rank", DataType::UInt32, false),
        ("potential", DataType::UInt64, true),
        ("suppressed", DataType::Boolean, false),
        ("accessibility", DataType::Float64, true),
        ("relative", DataType::Float64, true),
        ("gap", DataType::Float64, true),
        ("gap_share", DataType::Float64, true),
    ])
}

pub(crate) async fn prepare(ctx: &SessionContext, req: &Request) -> Result<Areas> {
    let areas = Areas::load(ctx).await?;
    if let Some(place) = &req.area {
        areas.check(place)?;
    }
    Ok(areas)
}

/// Potential and expressed demand of the target per unit: the persons (or households)
/// matching its rule, and those of them with an open case in the target's area.
pub async fn demand(ctx: &SessionContext, req: &Request) -> Result<RecordBatch> {
    let areas = prepare(ctx, req).await?;
    let pairs = demand_pairs(ctx, &req.target, req.level.grid_res(), true).await?;
    let units = group(&pairs, req.level, req.area.as_ref());
    let mut info = Vec::with_capacity(units.len());
    let (mut all_potential, mut all_expressed) = (Vec::new(), Vec::new());
    for (unit, ps) in &units {
        info.push(describe(req.level, unit, main_pair(ps), &areas));
        all_potential.push(count(ps.iter().map(|p| p.a).sum()));
        all_expressed.push(count(ps.iter().map(|p| p.b).sum()));
    }
    let potential = hide_list(&all_potential, req.threshold);
    let expressed = hide_list(&all_expressed, req.threshold);
    let hidden: Vec<bool> = potential.iter().map(Option::is_none).collect();
    let mut cols = unit_columns(&info);
    cols.push(Arc::new(UInt64Array::from(potential)));
    cols.push(Arc::new(UInt64Array::from(expressed)));
    cols.push(Arc::new(BooleanArray::from(hidden)));
    Ok(RecordBatch::try_new(demand_schema(), cols)?)
}

/// Facilities and places of the request's facility types per unit.
pub async fn supply(ctx: &SessionContext, req: &Request) -> Result<RecordBatch> {
    let areas = prepare(ctx, req).await?;
    let pairs = supply_pairs(ctx, &req.facility_types, req.level.grid_res()).await?;
    let units = group(&pairs, req.level, req.area.as_ref());
    let mut info = Vec::with_capacity(units.len());
    let (mut facilities, mut places) = (Vec::new(), Vec::new());
    for (unit, ps) in &units {
        info.push(describe(req.level, unit, main_pair(ps), &areas));
        facilities.push(count(ps.iter().map(|p| p.a).sum()));
        places.push(count(ps.iter().map(|p| p.b).sum()));
    }
    let mut cols = unit_columns(&info);
    cols.push(Arc::new(UInt64Array::from(facilities)));
    cols.push(Arc::new(UInt64Array::from(places)));
    Ok(RecordBatch::try_new(supply_schema(), cols)?)
}

/// Accessibility per cell of the grid, over the whole territory.
#[derive(Debug, Clone, Default)]
pub struct AccessField {
    /// Accessibility of each demand cell (`None`: no place in reach).
    pub by_cell: HashMap<u64, Option<f64>>,
    /// Places per unit of demand over the whole territory (the value everywhere under an
    /// unbounded catchment).
    pub reference: Option<f64>,
}

/// Computes the accessibility of every demand cell: pairs aggregated per cell, costs
/// between cell centres by haversine, only pairs within the catchment listed.
pub(crate) fn access_field(demand: &[Pair], supply: &[Pair], method: Method, catchment_km: f64) -> AccessField {
    let mut d_cells: HashMap<u64, f64> = HashMap::new();
    for p in demand {
        if let Some(c) = p.cell {
            *d_cells.entry(c).or_default() += p.a;
        }
    }
    let mut s_cells: HashMap<u64, f64> = HashMap::new();
    for p in supply {
        if let Some(c) = p.cell {
            *s_cells.entry(c).or_default() += p.b;
        }
    }
    let centre = |c: u64| CellIndex::try_from(c).ok().map(LatLng::from).map(|ll| (ll.lat(), ll.lng()));
    // Demand cells sorted by latitude, so each supply cell scans only a band.
    let mut d: Vec<(u64, f64, (f64, f64))> = d_cells.iter().filter_map(|(c, n)| Some((*c, *n, centre(*c)?))).collect();
    d.sort_by(|a, b| a.2.0.total_cmp(&b.2.0));
    let s: Vec<(f64, (f64, f64))> = s_cells.iter().filter_map(|(c, n)| Some((*n, centre(*c)?))).collect();
    let band = catchment_km / 111.0 + 1e-6;
    let mut costs = Vec::new();
    for (j, (_, (lat, lng))) in s.iter().enumerate() {
        let from = d.partition_point(|x| x.2.0 < lat - band);
        for (i, x) in d.iter().enumerate().skip(from) {
            if x.2.0 > lat + band {
                break;
            }
            let km = fca::haversine_km((*lat, *lng), x.2);
            if km < catchment_km {
                costs.push(Cost { demand: i, supply: j, cost: km });
            }
        }
    }
    let demand_v: Vec<f64> = d.iter().map(|x| x.1).collect();
    let supply_v: Vec<f64> = s.iter().map(|x| x.0).collect();
    let access = fca::two_stage(&demand_v, &supply_v, &costs, Some(catchment_km), &method.weight(catchment_km));
    let total_d: f64 = demand_v.iter().sum();
    let total_s: f64 = supply_v.iter().sum();
    AccessField {
        by_cell: d.iter().map(|x| x.0).zip(access).collect(),
        reference: (total_d > 0.0).then(|| total_s / total_d),
    }
}

struct Measured {
    info: Vec<UnitInfo>,
    potential: Vec<u64>,
    access: Vec<Option<f64>>,
    gap: Vec<f64>,
    reference: Option<f64>,
}

async fn measure(ctx: &SessionContext, req: &Request) -> Result<Measured> {
    let res = req.level.grid_res();
    // Three independent reads, run together.
    let (areas, demand, supply) = tokio::try_join!(
        prepare(ctx, req),
        demand_pairs(ctx, &req.target, res, false),
        supply_pairs(ctx, &req.facility_types, res)
    )?;
    let field = access_field(&demand, &supply, req.method, req.catchment_km);
    let reference = field.reference;
    let cell_access = |p: &Pair| p.cell.and_then(|c| field.by_cell.get(&c).copied().flatten());
    let gap_of = |p: &Pair| {
        let n = p.a;
        match (cell_access(p), reference) {
            (Some(a), Some(r)) if r > 0.0 => n * (1.0 - a / r).max(0.0),
            _ => n,
        }
    };
    let placed: Vec<Pair> = demand.into_iter().filter(|p| p.cell.is_some()).collect();
    let units = group(&placed, req.level, req.area.as_ref());
    let mut m = Measured { info: Vec::new(), potential: Vec::new(), access: Vec::new(), gap: Vec::new(), reference };
    for (unit, ps) in &units {
        m.info.push(describe(req.level, unit, main_pair(ps), &areas));
        let n: f64 = ps.iter().map(|p| p.a).sum();
        m.potential.push(count(n));
        let access = match unit {
            Unit::Cell(c) => field.by_cell.get(c).copied().flatten(),
            Unit::Area(_) => (n > 0.0).then(|| ps.iter().map(|p| p.a * cell_access(p).unwrap_or(0.0)).sum::<f64>() / n),
        };
        m.access.push(access);
        m.gap.push(ps.iter().map(|p| gap_of(p)).sum());
    }
    Ok(m)
}

/// Accessibility of the target to the request's facility types per unit (places per
/// person of the target within the catchment), and its ratio to the territory's.
pub async fn accessibility(ctx: &SessionContext, req: &Request) -> Result<RecordBatch> {
    let m = measure(ctx, req).await?;
    let shown: Vec<Option<u64>> = hide_list(&m.potential, req.threshold);
    let relative: Vec<Option<f64>> =
        m.access.iter().map(|a| a.zip(m.reference).and_then(|(a, r)| (r > 0.0).then(|| a / r))).collect();
    let mut cols = unit_columns(&m.info);
    cols.push(Arc::new(UInt64Array::from(shown.clone())));
    cols.push(Arc::new(BooleanArray::from(shown.iter().map(Option::is_none).collect::<Vec<_>>())));
    cols.push(Arc::new(Float64Array::from(m.access)));
    cols.push(Arc::new(Float64Array::from(relative)));
    Ok(RecordBatch::try_new(accessibility_schema(), cols)?)
}

/// The gap per unit (the target's persons not matched by places within reach, at the
/// territory's ratio), ranked from the largest.
pub async fn gaps(ctx: &SessionContext, req: &Request) -> Result<RecordBatch> {
    let m = measure(ctx, req).await?;
    let mut order: Vec<usize> = (0..m.info.len()).collect();
    order.sort_by(|&a, &b| m.gap[b].total_cmp(&m.gap[a]).then(m.info[a].id.cmp(&m.info[b].id)));
    let info: Vec<UnitInfo> = order.iter().map(|&i| m.info[i].clone()).collect();
    let published = hide_list(&m.potential, req.threshold);
    let shown: Vec<Option<u64>> = order.iter().map(|&i| published[i]).collect();
    let access: Vec<Option<f64>> = order.iter().map(|&i| m.access[i]).collect();
    let relative: Vec<Option<f64>> =
        access.iter().map(|a| a.zip(m.reference).and_then(|(a, r)| (r > 0.0).then(|| a / r))).collect();
    let gap: Vec<Option<f64>> = order.iter().zip(&shown).map(|(&i, s)| s.map(|_| m.gap[i])).collect();
    let share: Vec<Option<f64>> = order
        .iter()
        .zip(&gap)
        .map(|(&i, g)| g.and_then(|g| (m.potential[i] > 0).then(|| g / m.potential[i] as f64)))
        .collect();
    let mut cols = unit_columns(&info);
    cols.push(Arc::new(UInt32Array::from_iter_values(1..=info.len() as u32)));
    cols.push(Arc::new(UInt64Array::from(shown.clone())));
    cols.push(Arc::new(BooleanArray::from(shown.iter().map(Option::is_none).collect::<Vec<_>>())));
    cols.push(Arc::new(Float64Array::from(access)));
    cols.push(Arc::new(Float64Array::from(relative)));
    cols.push(Arc::new(Float64Array::from(gap)));
    cols.push(Arc::new(Float64Array::from(share)));
    Ok(RecordBatch::try_new(gaps_schema(), cols)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pair(cell: u64, a: f64, b: f64) -> Pair {
        Pair { cell: Some(cell), nil: Some(1), municipio: Some(1), comune: MILANO.into(), a, b }
    }

    #[test]
    fn levels_methods_and_areas_parse_or_say_what_is_allowed() {
        assert_eq!(Level::parse("cell", Some(8)).unwrap(), Level::Cell(8));
        assert_eq!(Level::parse("nil", None).unwrap().grid_res(), AREA_GRID_RES);
        let e = Level::parse("cell", Some(11)).unwrap_err().to_string();
        assert!(e.contains("7..=10"), "{e}");
        let e = Level::parse("quartiere", None).unwrap_err().to_string();
        assert!(e.contains("cell, nil, municipio, comune"), "{e}");
        assert_eq!(Method::parse("e2sfca").unwrap().weight(3.0), fca::e2sfca_steps(3.0));
        assert!(Method::parse("3sfca").unwrap_err().to_string().contains("2sfca, e2sfca, g2sfca"));
        assert_eq!(Place::parse("nil:12").unwrap(), Place { kind: AreaKind::Nil, id: "12".into() });
        for bad in ["nil", "nil:", "zona:3"] {
            assert!(Place::parse(bad).unwrap_err().to_string().contains("nil:<id>"), "{bad}");
        }
    }

    #[test]
    fn a_huge_catchment_gives_every_cell_the_territory_ratio() {
        // Three cells 1–2 km apart; 10 places for 40 + 60 + 100 persons.
        let c = |lat: f64, lng: f64| u64::from(LatLng::new(lat, lng).unwrap().to_cell(h3o::Resolution::Nine));
        let (a, b, x) = (c(45.46, 9.19), c(45.47, 9.20), c(45.48, 9.18));
        let demand = [pair(a, 40.0, 0.0), pair(b, 60.0, 0.0), pair(x, 100.0, 0.0)];
        let supply = [pair(b, 1.0, 10.0)];
        let f = access_field(&demand, &supply, Method::TwoStep, 50.0);
        assert_eq!(f.reference, Some(10.0 / 200.0));
        for cell in [a, b, x] {
            assert!((f.by_cell[&cell].unwrap() - 0.05).abs() < 1e-12);
        }
        // A catchment smaller than the distances: only the supply's own cell is served.
        let f = access_field(&demand, &supply, Method::TwoStep, 0.2);
        assert_eq!(f.by_cell[&b], Some(10.0 / 60.0));
        assert_eq!(f.by_cell[&a], None);
    }
}
