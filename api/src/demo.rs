//! `mosaico demo`: generate the sample on first run, load it, and hand back a
//! warehouse ready to serve. A warm restart finds both in place and skips to serving.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use mosaico_ingest::samples::{self, Summary};
use mosaico_warehouse::Warehouse;

use crate::config::Config;

/// The demo's sample.
#[derive(Debug, Clone, Copy)]
pub struct DemoSample {
    /// Seed.
    pub seed: u64,
    /// Persons.
    pub persons: u64,
}

impl Default for DemoSample {
    fn default() -> Self {
        Self { seed: 42, persons: 100_000 }
    }
}

/// Marker written after a complete load: which sample the warehouse holds.
const LOADED: &str = "loaded.json";

/// Generates (if needed) and loads (if needed) the demo sample.
pub async fn prepare(cfg: &Config, sample: DemoSample) -> anyhow::Result<Warehouse> {
    let dir: PathBuf = cfg.data_dir.join("sample");
    let wanted = |s: &Summary| s.seed == sample.seed && s.persons == sample.persons;
    let summary = match Summary::read(&dir) {
        Ok(s) if wanted(&s) => s,
        _ => {
            tracing::info!(persons = sample.persons, seed = sample.seed, dir = %dir.display(), "generating the sample");
            let opts = samples::Options {
                seed: sample.seed,
                persons: sample.persons,
                interventions: None,
                reference: cfg.reference_dir(),
                out: dir.clone(),
            };
            tokio::task::spawn_blocking(move || samples::generate(&opts)).await??
        }
    };
    let wh = Warehouse::open(&cfg.warehouse_location())?;
    let marker = cfg.data_dir.join(LOADED);
    let loaded: Option<Summary> = std::fs::read_to_string(&marker).ok().and_then(|t| serde_json::from_str(&t).ok());
    if loaded.as_ref() == Some(&summary) && wh.has_table("population").await? {
        tracing::info!("warehouse already holds this sample");
        return Ok(wh);
    }
    load(cfg, &wh, &dir).await?;
    std::fs::write(&marker, serde_json::to_string(&summary)?).with_context(|| marker.display().to_string())?;
    Ok(wh)
}

/// What `mosaico load` did: the territory, then each source.
#[derive(Debug, serde::Serialize)]
pub struct Loaded {
    /// The territory (`areas` and `cells`).
    pub territory: mosaico_ingest::pipeline::RunSummary,
    /// One summary per source.
    pub sources: Vec<mosaico_ingest::pipeline::RunSummary>,
}

/// The ingest of the configured warehouse, with the configured key and reference data.
pub fn ingest(cfg: &Config, wh: &Warehouse) -> anyhow::Result<mosaico_ingest::pipeline::Ingest> {
    let key = cfg.pseudonym_key()?;
    let today = chrono::Utc::now().date_naive();
    Ok(mosaico_ingest::pipeline::Ingest::new(wh.clone(), key, cfg.reference_dir(), today))
}

/// Loads a generated sample: territory tables, then the sample's sources.
pub async fn load(cfg: &Config, wh: &Warehouse, sample_dir: &std::path::Path) -> anyhow::Result<Loaded> {
    let ingest = ingest(cfg, wh)?;
    let opts = mosaico_ingest::pipeline::Options::default();
    tracing::info!("loading the territory (areas, cells)");
    let territory = ingest.run_territory(&cfg.reference_dir(), opts).await?;
    tracing::info!(dir = %sample_dir.display(), "loading the sources");
    let sources = mosaico_ingest::load::load_sample(&ingest, sample_dir, opts).await?;
    Ok(Loaded { territory, sources })
}

/// Opens the case database and, if it is new, seeds the demo users and case files from
/// the sample's registry. The default SQLite file is seeded under another name and
/// renamed when complete, so a failed seeding leaves no half-seeded database behind.
pub async fn prepare_cases(cfg: &Config, seed: u64, cases: usize) -> anyhow::Result<mosaico_case_app::Store> {
    std::fs::create_dir_all(&cfg.data_dir).with_context(|| cfg.data_dir.display().to_string())?;
    let url = cfg.case_database_url();
    let registry = cfg.data_dir.join("sample").join("registry.csv");
    let default_file = cfg.data_dir.join("cases.db");
    if cfg.case_database.is_none() && !default_file.exists() {
        let partial = cfg.data_dir.join("cases.db.partial");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", partial.display()));
        }
        let store = mosaico_case_app::Store::open(&format!("sqlite://{}", partial.display()))
            .await
            .with_context(|| format!("creating {}", partial.display()))?;
        seed_cases(&store, &registry, cases, seed).await?;
        store.close().await;
        std::fs::rename(&partial, &default_file).with_context(|| default_file.display().to_string())?;
    }
    let store =
        mosaico_case_app::Store::open(&url).await.with_context(|| format!("opening the case database {url}"))?;
    seed_cases(&store, &registry, cases, seed).await?;
    Ok(store)
}

async fn seed_cases(store: &mosaico_case_app::Store, registry: &Path, cases: usize, seed: u64) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let seeded =
        mosaico_case_app::seed::demo(store, registry, cases, seed).await.context("seeding the demo case files")?;
    if seeded.persons > 0 {
        tracing::info!(
            persons = seeded.persons,
            cases = seeded.cases,
            closed = seeded.closed,
            interventions = seeded.interventions,
            alerts = seeded.alerts,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "case database seeded"
        );
    }
    Ok(())
}
