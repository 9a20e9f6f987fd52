//! Mosaico's analytics: territorial measures over the warehouse, with small counts
//! suppressed visibly.
//!
//! ```text
//!  warehouse session ──SQL (here, one place)──▶ CellCount rows ──suppress(threshold)──▶ API / pages
//! ```
//!
//! Analytics takes a DataFusion session and gives plain values back; it knows
//! nothing of HTTP.
//!
//! ```no_run
//! # async fn demo(ctx: &datafusion::prelude::SessionContext) -> Result<(), mosaico_analytics::Error> {
//! use mosaico_analytics::{Metric, cells};
//! let counts = cells(ctx, 9, Metric::Population, 5).await?;
//! println!("{} populated cells", counts.len());
//! # Ok(()) }
//! ```

pub mod cache;
pub mod cohort;
pub mod dashboard;
pub mod disclosure;
pub mod fca;
pub mod forecast;
mod functions;
pub mod locate;
pub mod period;
pub mod reports;
pub mod scenario;
pub mod siting;
pub mod targets;
pub mod territory;
pub mod views;

pub use functions::{register, register_functions};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, Int64Array, RecordBatch, StringArray, UInt64Array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int32Type, Int64Type, UInt64Type};
use datafusion::prelude::SessionContext;

/// What went wrong computing a measure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter outside what the measure accepts.
    #[error("{0}")]
    Invalid(String),
    /// The warehouse query failed.
    #[error(transparent)]
    Query(#[from] datafusion::error::DataFusionError),
    /// Something asked for does not exist (a saved scenario).
    #[error("{0}")]
    NotFound(String),
    /// A problem too large for the limits that apply, or with no solution.
    #[error("{0}")]
    Unsolvable(String),
    /// The warehouse could not be read or written.
    #[error(transparent)]
    Warehouse(#[from] mosaico_warehouse::Error),
    /// A result column had a type that cannot be read (a bug).
    #[error("unexpected result column: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
}

/// Result alias for analytics.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A result column as a concrete Arrow type, whatever physical type the engine
/// chose (Delta tables read strings as views, for example).
pub(crate) fn column(b: &RecordBatch, i: usize, t: &DataType) -> Result<ArrayRef> {
    Ok(cast(b.column(i), t)?)
}

pub(crate) fn strings(b: &RecordBatch, i: usize) -> Result<StringArray> {
    Ok(column(b, i, &DataType::Utf8)?.as_string::<i32>().clone())
}

fn u64s(b: &RecordBatch, i: usize) -> Result<UInt64Array> {
    Ok(column(b, i, &DataType::UInt64)?.as_primitive::<UInt64Type>().clone())
}

pub(crate) fn i64s(b: &RecordBatch, i: usize) -> Result<Int64Array> {
    Ok(column(b, i, &DataType::Int64)?.as_primitive::<Int64Type>().clone())
}

pub(crate) fn i32s(b: &RecordBatch, i: usize) -> Result<Int32Array> {
    Ok(column(b, i, &DataType::Int32)?.as_primitive::<Int32Type>().clone())
}

/// The default threshold under which published counts are suppressed.
pub const DEFAULT_THRESHOLD: u64 = 5;

/// The finest resolution the warehouse stores (homes are res-10 cells).
pub const FINEST_RES: u8 = 10;

/// A population measure that can be mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// All residents.
    Population,
    /// Residents aged 75 and over.
    Elderly75,
    /// Residents under 18.
    Minors,
    /// Residents with a foreign citizenship.
    Foreign,
}

impl Metric {
    /// All metrics.
    pub const ALL: [Metric; 4] = [Metric::Population, Metric::Elderly75, Metric::Minors, Metric::Foreign];

    /// The code used in URLs.
    pub fn code(self) -> &'static str {
        match self {
            Metric::Population => "population",
            Metric::Elderly75 => "elderly_75",
            Metric::Minors => "minors",
            Metric::Foreign => "foreign",
        }
    }

    /// Parses a URL code.
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|m| m.code() == s).ok_or_else(|| {
            Error::Invalid(format!("unknown metric '{s}'; expected one of population, elderly_75, minors, foreign"))
        })
    }

    /// The SQL predicate over `population` selecting the persons counted.
    fn predicate(self) -> &'static str {
        match self {
            Metric::Population => "TRUE",
            Metric::Elderly75 => "age >= 75",
            Metric::Minors => "age < 18",
            Metric::Foreign => "\"foreign\"",
        }
    }
}

/// One cell's count, possibly suppressed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CellCount {
    /// The cell, hexadecimal (Kepler.gl reads `hex_id`).
    pub hex_id: String,
    /// The cell as a 64-bit index.
    #[serde(skip)]
    pub cell: u64,
    /// The count, or `None` when suppressed.
    pub count: Option<u64>,
    /// Whether the count is below the threshold and hidden.
    pub suppressed: bool,
    /// The NIL containing the cell's centre.
    pub nil_id: Option<i32>,
    /// The NIL's name.
    pub nil: Option<String>,
    /// The municipio.
    pub municipio: Option<i32>,
}

/// Hides a count below `threshold` (zero is published: it singles no one out).
pub fn suppress(n: u64, threshold: u64) -> Option<u64> {
    (n == 0 || n >= threshold).then_some(n)
}

/// Counts per H3 cell at resolution `res` (0..=10) of the persons in `metric`,
/// with counts under `threshold` suppressed. Persons with no home cell (the
/// homeless, registered at a conventional address) are not placed on the grid.
pub async fn cells(ctx: &SessionContext, res: u8, metric: Metric, threshold: u64) -> Result<Vec<CellCount>> {
    if res > FINEST_RES {
        return Err(Error::Invalid(format!("resolution {res} is finer than the warehouse's {FINEST_RES}; use 0..=10")));
    }
    let sql = format!(
        "SELECT p.cell, h3_to_string(p.cell) AS hex_id, p.n, c.nil_id, c.nil_name, c.municipio \
         FROM (SELECT h3_parent(h3_10, {res}) AS cell, count(*) AS n FROM population \
               WHERE h3_10 IS NOT NULL AND {pred} GROUP BY 1) p \
         LEFT JOIN cells c ON c.cell = p.cell AND c.res = {res} \
         ORDER BY p.cell",
        pred = metric.predicate()
    );
    let batches = crate::territory::batches(ctx, &sql).await?;
    let mut out = Vec::new();
    let mut raw = Vec::new();
    for b in &batches {
        read_cells(b, &mut out, &mut raw)?;
    }
    // Complementary suppression over the whole grid: one hidden cell never stands alone.
    for (c, shown) in out.iter_mut().zip(disclosure::hide_list(&raw, threshold)) {
        c.count = shown;
        c.suppressed = shown.is_none();
    }
    Ok(out)
}

fn read_cells(b: &RecordBatch, out: &mut Vec<CellCount>, raw: &mut Vec<u64>) -> Result<()> {
    let (cell, hex, n) = (u64s(b, 0)?, strings(b, 1)?, i64s(b, 2)?);
    let (nil_id, nil, mun) = (i32s(b, 3)?, strings(b, 4)?, i32s(b, 5)?);
    for i in 0..b.num_rows() {
        let n = u64::try_from(n.value(i)).unwrap_or(0);
        raw.push(n);
        out.push(CellCount {
            hex_id: hex.value(i).to_owned(),
            cell: cell.value(i),
            count: Some(n),
            suppressed: false,
            nil_id: nil_id.is_valid(i).then(|| nil_id.value(i)),
            nil: nil.is_valid(i).then(|| nil.value(i).to_owned()),
            municipio: mun.is_valid(i).then(|| mun.value(i)),
        });
    }
    Ok(())
}

/// City-level totals of a metric: all persons, and those with no home cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    /// Everyone counted by the metric.
    pub total: u64,
    /// Of whom registered at a conventional address (not on the map).
    pub homeless: u64,
}

/// The city-level totals of a metric.
pub async fn totals(ctx: &SessionContext, metric: Metric) -> Result<Totals> {
    let sql =
        format!("SELECT count(*), count(*) FILTER (WHERE h3_10 IS NULL) FROM population WHERE {}", metric.predicate());
    let batches = crate::territory::batches(ctx, &sql).await?;
    let get = |col: usize| -> Result<u64> {
        match batches.first().filter(|b| b.num_rows() > 0) {
            Some(b) => Ok(u64::try_from(i64s(b, col)?.value(0)).unwrap_or(0)),
            None => Ok(0),
        }
    };
    Ok(Totals { total: get(0)?, homeless: get(1)? })
}

/// One area's outline.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AreaOutline {
    /// Id (NIL number, municipio number, ISTAT code).
    pub id: String,
    /// Name.
    pub name: String,
    /// GeoJSON geometry (MultiPolygon, lon/lat).
    pub geojson: String,
}

/// The outlines of one kind of area (`nil`, `municipio`, `comune`).
pub async fn outlines(ctx: &SessionContext, kind: &str) -> Result<Vec<AreaOutline>> {
    if !["nil", "municipio", "comune"].contains(&kind) {
        return Err(Error::Invalid(format!("unknown area kind '{kind}'; expected nil, municipio or comune")));
    }
    let sql = format!("SELECT id, name, geojson FROM areas WHERE kind = '{kind}' ORDER BY id");
    let batches = crate::territory::batches(ctx, &sql).await?;
    let mut out = Vec::new();
    for b in &batches {
        let (id, name, geo) = (strings(b, 0)?, strings(b, 1)?, strings(b, 2)?);
        for i in 0..b.num_rows() {
            out.push(AreaOutline {
                id: id.value(i).to_owned(),
                name: name.value(i).to_owned(),
                geojson: geo.value(i).to_owned(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppression_hides_small_nonzero_counts() {
        assert_eq!(suppress(4, 5), None);
        assert_eq!(suppress(5, 5), Some(5));
        assert_eq!(suppress(0, 5), Some(0));
        assert_eq!(suppress(1, 1), Some(1));
    }

    #[test]
    fn metrics_parse() {
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.code()).ok(), Some(m));
        }
        assert!(Metric::parse("people").is_err());
    }
}
