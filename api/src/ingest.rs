//! `mosaico ingest`: the territory and the text sources, in the order they depend on
//! each other.

use std::path::PathBuf;

use mosaico_ingest::pipeline::{Options, RunSummary};
use mosaico_warehouse::Warehouse;

use crate::config::Config;

/// Every source, in load order: what a source refers to comes before it.
pub const ORDER: [&str; 9] =
    ["territory", "crosswalk", "census", "registry", "isee", "facilities", "cases", "interventions", "case_db"];

/// What a source is, in a line.
pub fn about(source: &str) -> &'static str {
    match source {
        "territory" => "NIL, Municipi and comuni boundaries (a folder of GeoJSON)",
        "case_db" => "the case database, what changed since the last run (a sqlite:// or postgres:// URL)",
        s => mosaico_ingest::pipeline::sources::spec(s).map_or("", |spec| spec.about),
    }
}

/// Puts `(source, path)` pairs in load order; an unknown source is an error that
/// names the nearest known one.
pub fn ordered(items: &[(String, PathBuf)]) -> anyhow::Result<Vec<(String, PathBuf)>> {
    for (s, _) in items {
        if !ORDER.contains(&s.as_str()) {
            let nearest = ORDER.iter().min_by_key(|o| mosaico_domain::text::edit_distance(o, s)).unwrap_or(&"");
            let list: Vec<String> = ORDER.iter().map(|o| format!("  {o:<14} {}", about(o))).collect();
            anyhow::bail!("unknown source '{s}' (did you mean '{nearest}'?); the sources are:\n{}", list.join("\n"));
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
    let ingest = crate::demo::ingest(cfg, wh)?;
    for (_, dir) in territory {
        out.push(ingest.run_territory(&dir, opts).await?);
    }
    if !text.is_empty() {
        out.extend(ingest.run_set(&text, opts).await?);
    }
    for (_, url) in databases {
        let url = url.to_string_lossy();
        out.push(ingest.run_case_db(&url, opts).await?);
    }
    Ok(out)
}
