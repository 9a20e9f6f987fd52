//! Loading a whole sample: the territory tables' batches (loaded by
//! [`Ingest::run_territory`]), and the generator's five source files through the
//! [`pipeline`](crate::pipeline) in one run.

use std::path::Path;

use datafusion::arrow::record_batch::RecordBatch;
use h3o::Resolution;

use crate::Result;
use crate::pipeline::{Ingest, Options, RunSummary};
use crate::reference::Territory;
use crate::samples::files;
use crate::territory::{self, CellIndexMap};

/// The `cells` and `areas` batches of a territory.
pub fn territory_batches(territory: &Territory) -> Result<(RecordBatch, RecordBatch)> {
    let maps: Vec<(Resolution, CellIndexMap)> = territory::RESOLUTIONS
        .iter()
        .map(|&r| territory::cell_map(territory, r).map(|m| (r, m)))
        .collect::<Result<_>>()?;
    let refs: Vec<(Resolution, &CellIndexMap)> = maps.iter().map(|(r, m)| (*r, m)).collect();
    Ok((territory::cells_batch(territory, &refs)?, territory::areas_batch(territory)?))
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
