//! `mosaico ingest`: the territory and the text sources, in the order they depend on
//! each other.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use mosaico_ingest::pipeline::{Options, RunSummary, Status};
use mosaico_ingest::reference::Territory;
use mosaico_warehouse::Warehouse;

use crate::config::Config;

/// Every source, in load order: what a source refers to comes before it.
pub const ORDER: [&str; 9] =
    ["territory", "crosswalk", "census", "registry", "isee", "facilities", "cases", "interventions", "case_db"];

/// Puts `(source, path)` pairs in load order; an unknown source is an error that
/// names the nearest known one.
pub fn ordered(items: &[(String, PathBuf)]) -> anyhow::Result<Vec<(String, PathBuf)>> {
    for (s, _) in items {
        if !ORDER.contains(&s.as_str()) {
            let nearest = ORDER.iter().min_by_key(|o| mosaico_domain::text::edit_distance(o, s)).unwrap_or(&"");
            anyhow::bail!("unknown source '{s}' (did you mean '{nearest}'?); the sources are: {}", ORDER.join(", "));
        }
    }
    let mut out = items.to_vec();
    out.sort_by_key(|(s, _)| ORDER.iter().position(|o| o == s));
    Ok(out)
}

/// Runs the sources: the territory first (its own run), then the text sources in one run.
pub async fn run(
    cfg: &Config,
    wh: &Warehouse,
    items: &[(String, PathBuf)],
    opts: Options,
) -> anyhow::Result<Vec<RunSummary>> {
    let items = ordered(items)?;
    let mut out = Vec::new();
    let (territory, rest): (Vec<_>, Vec<_>) = items.into_iter().partition(|(s, _)| s == "territory");
    let (databases, text): (Vec<_>, Vec<_>) = rest.into_iter().partition(|(s, _)| s == "case_db");
    for (_, dir) in territory {
        out.push(territory_run(wh, dir, opts).await?);
    }
    let ingest = crate::demo::ingest(cfg, wh)?;
    if !text.is_empty() {
        out.extend(ingest.run_set(&text, opts).await?);
    }
    for (_, url) in databases {
        let url = url.to_string_lossy();
        out.push(ingest.run_case_db(&url, opts).await?);
    }
    Ok(out)
}

async fn territory_run(wh: &Warehouse, dir: PathBuf, opts: Options) -> anyhow::Result<RunSummary> {
    let started = std::time::Instant::now();
    let d = dir.clone();
    let territory = tokio::task::spawn_blocking(move || Territory::load(&d)).await??;
    let areas = (territory.nil.len() + territory.municipi.len() + territory.comuni.len()) as u64;
    let mut summary = RunSummary {
        run_id: String::new(),
        source: "territory".into(),
        file: dir,
        status: Status::DryRun,
        sha256: String::new(),
        read: areas,
        loaded: areas,
        quarantined: 0,
        reasons: BTreeMap::new(),
        latin1_fields: 0,
        tables: BTreeMap::new(),
        recovered: Vec::new(),
        examples: Vec::new(),
        elapsed_ms: 0,
    };
    if !opts.dry_run {
        mosaico_ingest::load::load_territory(wh, &territory).await.context("loading the territory")?;
        let versions = wh.versions().await?;
        for t in ["areas", "cells"] {
            if let Some(v) = versions.get(t) {
                summary.tables.insert(t.to_owned(), *v);
            }
        }
        summary.status = Status::Loaded;
    }
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}
