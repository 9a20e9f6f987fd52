//! `mosaico locate`: a location problem from CSV files, for planners with their own
//! points and for the benchmark beside spopt.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, bail};
use mosaico_analytics::locate::{Instance, Limits, Model};
use mosaico_analytics::siting::ModelKind;
use serde_json::{Value, json};

/// Points read from a file: ids, (lat, lon), weights (empty when not weighted).
struct Points {
    ids: Vec<String>,
    at: Vec<(f64, f64)>,
    weights: Vec<f64>,
}

/// Reads `id,lat,lon[,weight]` rows; the weight column is required when `weighted`.
fn read_points(path: &Path, weighted: bool) -> anyhow::Result<Points> {
    let mut r = csv::Reader::from_path(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let header: Vec<String> = r.headers()?.iter().map(str::to_owned).collect();
    let want: &[&str] = if weighted { &["id", "lat", "lon", "weight"] } else { &["id", "lat", "lon"] };
    if header.iter().map(String::as_str).take(want.len()).ne(want.iter().copied()) {
        bail!("{}: the header is {}; expected {}", path.display(), header.join(","), want.join(","));
    }
    let (mut ids, mut at, mut w) = (Vec::new(), Vec::new(), Vec::new());
    for (n, rec) in r.records().enumerate() {
        let rec = rec.with_context(|| format!("{}: line {}", path.display(), n + 2))?;
        let num = |i: usize| -> anyhow::Result<f64> {
            rec.get(i).and_then(|v| v.trim().parse::<f64>().ok()).with_context(|| {
                format!(
                    "{}, line {}: {} is not a number: {:?}",
                    path.display(),
                    n + 2,
                    want[i],
                    rec.get(i).unwrap_or("")
                )
            })
        };
        ids.push(rec.get(0).unwrap_or_default().to_owned());
        at.push((num(1)?, num(2)?));
        if weighted {
            w.push(num(3)?);
        }
    }
    Ok(Points { ids, at, weights: w })
}

/// Reads `demand_id,site_id,cost` pairs into (demand index, site index, cost).
fn read_costs(path: &Path, demand: &[String], sites: &[String]) -> anyhow::Result<Vec<(usize, usize, f64)>> {
    let index = |ids: &[String]| -> std::collections::HashMap<String, usize> {
        ids.iter().enumerate().map(|(i, id)| (id.clone(), i)).collect()
    };
    let (d, s) = (index(demand), index(sites));
    let mut r = csv::Reader::from_path(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let header: Vec<String> = r.headers()?.iter().map(str::to_owned).collect();
    if header.iter().map(String::as_str).take(3).ne(["demand_id", "site_id", "cost"]) {
        bail!("{}: the header is {}; expected demand_id,site_id,cost", path.display(), header.join(","));
    }
    let mut out = Vec::new();
    for (n, rec) in r.records().enumerate() {
        let rec = rec.with_context(|| format!("{}: line {}", path.display(), n + 2))?;
        let at = |what: &str, v: &str| format!("{}, line {}: {what} '{v}'", path.display(), n + 2);
        let (di, si, c) = (rec.get(0).unwrap_or(""), rec.get(1).unwrap_or(""), rec.get(2).unwrap_or(""));
        let i = *d.get(di).with_context(|| at("no demand point has the id", di))?;
        let j = *s.get(si).with_context(|| at("no candidate has the id", si))?;
        let c = c.trim().parse::<f64>().ok().with_context(|| at("the cost is not a number:", c))?;
        out.push((i, j, c));
    }
    Ok(out)
}

/// Solves the problem in the files and describes the answer: distances by haversine
/// between the points, or the `costs` given.
pub fn solve(
    demand: &Path,
    candidates: &Path,
    costs: Option<&Path>,
    model: &str,
    p: usize,
    radius_km: f64,
) -> anyhow::Result<Value> {
    let started = Instant::now();
    let kind = ModelKind::parse(model)?;
    let Points { ids: demand_ids, at: points, weights } = read_points(demand, true)?;
    let Points { ids: site_ids, at: sites, .. } = read_points(candidates, false)?;
    let total: f64 = weights.iter().sum();
    let read_ms = started.elapsed().as_secs_f64() * 1e3;
    let built = Instant::now();
    let instance = match costs {
        Some(path) => Instance::from_pairs(weights, sites.len(), read_costs(path, &demand_ids, &site_ids)?)?,
        None => Instance::from_points(weights, &points, &sites, radius_km, 200_000_000)?,
    };
    let build_ms = built.elapsed().as_secs_f64() * 1e3;
    let solved = Instant::now();
    let m = match kind {
        ModelKind::Mclp => Model::Mclp { p, radius: radius_km },
        ModelKind::PMedian => Model::PMedian { p },
        ModelKind::Lscp => Model::SetCover { radius: radius_km },
    };
    let s = instance.solve(m, Limits::default())?;
    let solve_ms = solved.elapsed().as_secs_f64() * 1e3;
    Ok(json!({
        "model": kind.code(),
        "p": p,
        "radius_km": radius_km,
        "points": instance.points(),
        "candidates": instance.candidates(),
        "pairs": instance.pairs(),
        "total_weight": total,
        "coverable_weight": instance.reachable_weight(),
        "objective": s.objective,
        "bound": s.bound,
        "gap": s.gap(),
        "exact": s.exact,
        "work": s.work,
        "sites": s.sites.iter().map(|&j| site_ids[j].clone()).collect::<Vec<_>>(),
        "read_ms": read_ms,
        "build_ms": build_ms,
        "solve_ms": solve_ms,
        "elapsed_ms": read_ms + build_ms + solve_ms,
    }))
}
