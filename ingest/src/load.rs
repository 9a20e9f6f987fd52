//! Loading a whole sample: the territory (`areas` and `cells`, together), then the
//! generator's five source files through the [`pipeline`](crate::pipeline) in one run.

use std::path::Path;

use datafusion::arrow::record_batch::RecordBatch;
use h3o::Resolution;
use mosaico_warehouse::Warehouse;

use crate::Result;
use crate::pipeline::{Ingest, Options, RunSummary};
use crate::reference::Territory;
use crate::samples::files;
use crate::territory::{self, CellIndexMap};

/// Rows in the territory tables.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TerritorySummary {
    /// Cells in `cells` (res 9 and 10).
    pub cells: u64,
    /// Areas in `areas`.
    pub areas: u64,
}

/// Loads the boundary tables `areas` and `cells` in one run (readers see both change
/// together), and returns the res-10 cell map.
pub async fn load_territory(wh: &Warehouse, territory: &Territory) -> Result<(CellIndexMap, TerritorySummary)> {
    let (cells, areas, ten) = territory_batches(territory)?;
    let summary = TerritorySummary { cells: cells.num_rows() as u64, areas: areas.num_rows() as u64 };
    let run_id = format!("{}-territory", chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"));
    let run = wh.begin(&run_id, "ingest territory", &["cells", "areas"]).await?;
    let written = async {
        wh.write_table("cells", vec![cells]).await?;
        wh.write_table("areas", vec![areas]).await
    }
    .await;
    match written {
        Ok(_) => run.finish().await?,
        Err(e) => {
            run.abort().await?;
            return Err(e.into());
        }
    }
    Ok((ten, summary))
}

/// The `cells` and `areas` batches of a territory, and its res-10 cell map.
pub fn territory_batches(territory: &Territory) -> Result<(RecordBatch, RecordBatch, CellIndexMap)> {
    let maps: Vec<(Resolution, CellIndexMap)> = territory::RESOLUTIONS
        .iter()
        .map(|&r| territory::cell_map(territory, r).map(|m| (r, m)))
        .collect::<Result<_>>()?;
    let refs: Vec<(Resolution, &CellIndexMap)> = maps.iter().map(|(r, m)| (*r, m)).collect();
    let cells = territory::cells_batch(territory, &refs)?;
    let areas = territory::areas_batch(territory)?;
    let ten = maps.into_iter().find(|(r, _)| *r == Resolution::Ten).map(|(_, m)| m).unwrap_or_default();
    Ok((cells, areas, ten))
}

/// The generator's files, in the order they are loaded (cases before the
/// interventions that refer to them).
pub const SAMPLE_SOURCES: [(&str, &str); 5] = [
    ("registry", files::REGISTRY),
    ("isee", files::ISEE),
    ("facilities", files::FACILITIES),
    ("cases", files::CASES),
    ("interventions", files::INTERVENTIONS),
];

/// Loads the five source files in `dir` into `population`, `isee`, `facilities`,
/// `cases` and `interventions`, in one run.
pub async fn load_sample(ingest: &Ingest, dir: &Path, opts: Options) -> Result<Vec<RunSummary>> {
    let items: Vec<(String, std::path::PathBuf)> =
        SAMPLE_SOURCES.iter().map(|(s, f)| ((*s).to_owned(), dir.join(f))).collect();
    ingest.run_set(&items, opts).await
}
