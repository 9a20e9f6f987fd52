//! Where to open the next k services for a target: the location models of
//! [`crate::locate`] over the warehouse's demand cells and candidate cells.
//!
//! ```text
//!  target rule ──▶ demand per res-r cell (weights)      candidates: every res-r cell of the
//!  existing facilities of the types ──▶ demand they      territory (or a given list)
//!     already reach within the radius is set aside
//!  haversine between cell centres ──▶ Instance ──Model──▶ sites, objective, bound
//! ```

use std::collections::HashSet;

use datafusion::prelude::SessionContext;
use h3o::{CellIndex, LatLng};

use crate::locate::{Instance, Limits, Model, Solution};
use crate::targets::Target;
use crate::territory::{self, Place};
use datafusion::arrow::array::Array as _;

use crate::{Error, Result, i32s, u64s};

/// Demand points at most.
pub const MAX_POINTS: usize = 300_000;
/// Candidate sites at most.
pub const MAX_CANDIDATES: usize = 25_000;
/// Sites to open at most.
pub const MAX_P: usize = 200;
/// (point, site) pairs within reach at most.
pub const MAX_PAIRS: usize = 30_000_000;
/// Radii accepted, in km.
pub const RADIUS_KM: std::ops::RangeInclusive<f64> = 0.1..=50.0;

/// The limits that apply, as a sentence for error messages.
pub fn limits_text() -> String {
    format!(
        "limits: at most {MAX_POINTS} demand cells, {MAX_CANDIDATES} candidates, p ≤ {MAX_P}, \
         {MAX_PAIRS} (cell, site) pairs within reach, radius {}..={} km",
        RADIUS_KM.start(),
        RADIUS_KM.end()
    )
}

/// The location models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// Maximal covering.
    Mclp,
    /// p-median.
    PMedian,
    /// Location set covering.
    Lscp,
}

impl ModelKind {
    /// The codes accepted.
    pub const CODES: [&'static str; 3] = ["mclp", "pmedian", "lscp"];

    /// Parses a code.
    pub fn parse(s: &str) -> Result<ModelKind> {
        match s {
            "mclp" => Ok(ModelKind::Mclp),
            "pmedian" => Ok(ModelKind::PMedian),
            "lscp" => Ok(ModelKind::Lscp),
            other => Err(Error::Invalid(format!(
                "model: '{other}' is not a model; expected one of {}",
                ModelKind::CODES.join(", ")
            ))),
        }
    }

    /// Its code.
    pub fn code(self) -> &'static str {
        match self {
            ModelKind::Mclp => "mclp",
            ModelKind::PMedian => "pmedian",
            ModelKind::Lscp => "lscp",
        }
    }
}

/// What to site.
#[derive(Debug, Clone)]
pub struct SitingRequest {
    /// The target whose demand is served.
    pub target: Target,
    /// The facility types already serving it (set aside what they reach).
    pub facility_types: Vec<String>,
    /// The model.
    pub model: ModelKind,
    /// Sites to open (MCLP, p-median).
    pub p: usize,
    /// Service radius in km (MCLP, set covering).
    pub radius_km: f64,
    /// Grid resolution of demand and candidates.
    pub res: u8,
    /// Candidate cells (`None`: every cell of the territory at `res`).
    pub candidates: Option<Vec<u64>>,
    /// Whether demand already within reach of an existing facility is set aside.
    pub existing: bool,
    /// Only demand and candidates in this area.
    pub area: Option<Place>,
}

/// A chosen site.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Chosen {
    /// Order of choice (by what each adds to those before it).
    pub rank: usize,
    /// The cell, hexadecimal.
    pub hex_id: String,
    /// Its centre.
    pub lat: f64,
    /// Its centre.
    pub lon: f64,
    /// Its NIL.
    pub nil_id: Option<i32>,
    /// Its municipio.
    pub municipio: Option<i32>,
    /// MCLP / set covering: demand it covers that the sites before it do not;
    /// p-median: demand assigned to it.
    pub demand: f64,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Placement {
    /// The model's code.
    pub model: String,
    /// The sites.
    pub sites: Vec<Chosen>,
    /// MCLP: demand covered; p-median: Σ demand × km; set covering: sites.
    pub objective: f64,
    /// The best the optimum can be.
    pub bound: f64,
    /// Relative distance between objective and bound.
    pub gap: f64,
    /// Proven optimal.
    pub exact: bool,
    /// Demand of the target on the grid.
    pub demand_total: f64,
    /// Of it, already within reach of an existing facility (set aside).
    pub already_served: f64,
    /// Demand cells, candidates and pairs of the instance.
    pub points: usize,
    /// Candidates.
    pub candidates: usize,
    /// Pairs within reach.
    pub pairs: usize,
}

fn centre(c: u64) -> Option<(f64, f64)> {
    CellIndex::try_from(c).ok().map(LatLng::from).map(|ll| (ll.lat(), ll.lng()))
}

/// Solves a siting request over a warehouse session.
pub async fn site(ctx: &SessionContext, req: &SitingRequest) -> Result<Placement> {
    if !RADIUS_KM.contains(&req.radius_km) {
        return Err(Error::Invalid(format!(
            "radius_km: {} is out of range; use {}..={} km",
            req.radius_km,
            RADIUS_KM.start(),
            RADIUS_KM.end()
        )));
    }
    if req.model != ModelKind::Lscp && (req.p == 0 || req.p > MAX_P) {
        return Err(Error::Unsolvable(format!("p: {} sites; open 1..={MAX_P} ({})", req.p, limits_text())));
    }
    let pairs = territory::demand_pairs(ctx, &req.target, req.res, false).await?;
    let mut demand: std::collections::BTreeMap<u64, (f64, Option<i32>, Option<i32>)> = Default::default();
    for p in pairs.iter().filter(|p| req.area.as_ref().is_none_or(|a| p.within(a))) {
        if let Some(c) = p.cell {
            let e = demand.entry(c).or_insert((0.0, p.nil, p.municipio));
            e.0 += p.a;
        }
    }
    let demand_total: f64 = demand.values().map(|d| d.0).sum();
    // Demand already reached by a facility of the types.
    let mut already_served = 0.0;
    if req.existing && req.model != ModelKind::PMedian {
        let existing: Vec<(f64, f64)> = crate::scenario::facilities(ctx)
            .await?
            .iter()
            .filter(|f| req.facility_types.contains(&f.facility_type))
            .filter_map(|f| f.cell.and_then(centre))
            .collect();
        if !existing.is_empty() {
            let cells: Vec<u64> = demand.keys().copied().collect();
            let pts: Vec<(f64, f64)> = cells.iter().map(|c| centre(*c).unwrap_or_default()).collect();
            let reach = Instance::from_points(vec![1.0; pts.len()], &pts, &existing, req.radius_km, MAX_PAIRS)?;
            let all: Vec<usize> = (0..existing.len()).collect();
            let served = reach.reached(&all, req.radius_km);
            for (c, s) in cells.iter().zip(served) {
                if s && let Some(d) = demand.get_mut(c) {
                    already_served += d.0;
                    d.0 = 0.0;
                }
            }
        }
    }
    demand.retain(|_, d| d.0 > 0.0);
    if demand.is_empty() {
        return Err(Error::Unsolvable(
            "no demand of the target is left to serve (none on the grid, or all of it already within reach)".into(),
        ));
    }
    if demand.len() > MAX_POINTS {
        return Err(Error::Unsolvable(format!("{} demand cells; {}", demand.len(), limits_text())));
    }
    let candidates: Vec<u64> = match &req.candidates {
        Some(list) => list.clone(),
        None => territory_cells(ctx, req.res, req.area.as_ref()).await?,
    };
    if candidates.is_empty() {
        return Err(Error::Invalid("candidates: there is no candidate cell in the area".into()));
    }
    if candidates.len() > MAX_CANDIDATES {
        return Err(Error::Unsolvable(format!("{} candidates; {}", candidates.len(), limits_text())));
    }
    let cells: Vec<u64> = demand.keys().copied().collect();
    let pts: Vec<(f64, f64)> = cells.iter().map(|c| centre(*c).unwrap_or_default()).collect();
    let weights: Vec<f64> = demand.values().map(|d| d.0).collect();
    let sites_at: Vec<(f64, f64)> = candidates
        .iter()
        .map(|c| centre(*c).ok_or_else(|| Error::Invalid(format!("candidates: {c:x} is not an H3 cell"))))
        .collect::<Result<_>>()?;
    let reach_km = match req.model {
        ModelKind::PMedian => {
            if pts.len().saturating_mul(sites_at.len()) > MAX_PAIRS {
                return Err(Error::Unsolvable(format!(
                    "the p-median needs every (cell, site) distance: {} × {} is too many; {}",
                    pts.len(),
                    sites_at.len(),
                    limits_text()
                )));
            }
            20_000.0
        }
        _ => req.radius_km,
    };
    let too_big = |e: Error| match e {
        Error::Invalid(m) => Error::Unsolvable(format!("{m}; {}", limits_text())),
        other => other,
    };
    let instance = Instance::from_points(weights, &pts, &sites_at, reach_km, MAX_PAIRS).map_err(too_big)?;
    let model = match req.model {
        ModelKind::Mclp => Model::Mclp { p: req.p.min(candidates.len()), radius: req.radius_km },
        ModelKind::PMedian => Model::PMedian { p: req.p.min(candidates.len()) },
        ModelKind::Lscp => Model::SetCover { radius: req.radius_km },
    };
    let solution: Solution = instance.solve(model, Limits::default()).map_err(|e| match e {
        Error::Invalid(m) => Error::Unsolvable(m.replace("demand point", "demand cell")),
        other => other,
    })?;
    // Rank sites by what each adds to the ones before it (p-median: by the demand
    // assigned to each).
    let (order, shares) = match req.model {
        ModelKind::PMedian => {
            let assigned = instance.assigned(&solution.sites);
            let mut v: Vec<(usize, f64)> = solution.sites.iter().copied().zip(assigned).collect();
            v.sort_by(|a, b| b.1.total_cmp(&a.1));
            v.into_iter().unzip()
        }
        _ => instance.ranked(&solution.sites, req.radius_km),
    };
    let nil_of = cell_places(ctx, &order.iter().map(|&j| candidates[j]).collect::<Vec<_>>()).await?;
    let sites = order
        .iter()
        .zip(shares)
        .enumerate()
        .map(|(k, (&j, d))| {
            let c = candidates[j];
            let (lat, lon) = sites_at[j];
            let (nil_id, municipio) = nil_of.get(&c).copied().unwrap_or((None, None));
            Chosen {
                rank: k + 1,
                hex_id: CellIndex::try_from(c).map(|c| c.to_string()).unwrap_or_default(),
                lat,
                lon,
                nil_id,
                municipio,
                demand: d,
            }
        })
        .collect();
    Ok(Placement {
        model: req.model.code().to_owned(),
        sites,
        objective: solution.objective,
        bound: solution.bound,
        gap: solution.gap(),
        exact: solution.exact,
        demand_total,
        already_served,
        points: instance.points(),
        candidates: instance.candidates(),
        pairs: instance.pairs(),
    })
}

/// Every cell of the territory at a resolution (restricted to an area).
async fn territory_cells(ctx: &SessionContext, res: u8, area: Option<&Place>) -> Result<Vec<u64>> {
    if !ctx.table_exist("cells")? {
        return Err(Error::Invalid("the warehouse has no cells table; load the territory first".into()));
    }
    let filter = match area {
        None => String::new(),
        Some(p) => match p.kind {
            territory::AreaKind::Nil => format!(" AND nil_id = {}", p.id.parse::<i32>().unwrap_or(-1)),
            territory::AreaKind::Municipio => format!(" AND municipio = {}", p.id.parse::<i32>().unwrap_or(-1)),
            territory::AreaKind::Comune => format!(" AND comune_istat = '{}'", p.id.replace('\'', "''")),
        },
    };
    let sql = format!("SELECT DISTINCT h3_parent(cell, {res}) FROM cells WHERE res = 10{filter} ORDER BY 1");
    let mut out = Vec::new();
    for b in territory::batches(ctx, &sql).await? {
        let c = u64s(&b, 0)?;
        out.extend((0..b.num_rows()).map(|i| c.value(i)));
    }
    Ok(out)
}

/// NIL and municipio of cells (any resolution), by their centre's res-10 cell.
async fn cell_places(
    ctx: &SessionContext,
    cells: &[u64],
) -> Result<std::collections::HashMap<u64, (Option<i32>, Option<i32>)>> {
    let mut out = std::collections::HashMap::new();
    if cells.is_empty() || !ctx.table_exist("cells")? {
        return Ok(out);
    }
    let tens: Vec<(u64, u64)> = cells
        .iter()
        .filter_map(|c| {
            let cell = CellIndex::try_from(*c).ok()?;
            Some((*c, u64::from(LatLng::from(cell).to_cell(h3o::Resolution::Ten))))
        })
        .collect();
    let list: HashSet<String> = tens.iter().map(|t| t.1.to_string()).collect();
    let sql = format!(
        "SELECT cell, nil_id, municipio FROM cells WHERE res = 10 AND cell IN ({})",
        list.into_iter().collect::<Vec<_>>().join(", ")
    );
    let mut by10 = std::collections::HashMap::new();
    for b in territory::batches(ctx, &sql).await? {
        let (c, nil, mun) = (u64s(&b, 0)?, i32s(&b, 1)?, i32s(&b, 2)?);
        for i in 0..b.num_rows() {
            by10.insert(c.value(i), (nil.is_valid(i).then(|| nil.value(i)), mun.is_valid(i).then(|| mun.value(i))));
        }
    }
    for (c, ten) in tens {
        if let Some(v) = by10.get(&ten) {
            out.insert(c, *v);
        }
    }
    Ok(out)
}
