//! The PySAL `spopt` San Francisco case (../shared/golden/spopt-sf): 205 census tracts,
//! 16 candidate stores, network distances in metres, p = 4. The optimum is proven here by
//! enumerating all 1,820 sets of four stores, and matches what spopt 0.7 finds with
//! PuLP/CBC:
//!
//! - MCLP at 5,000 m: stores 2, 11, 12, 15, covering 875,247 (184 of 205 tracts);
//! - p-median: the same stores, Σ demand × distance = 2,848,268,129.71;
//! - LSCP at 8,000 m: three stores (2, 11, 14).
//!
//! The heuristics (lazy greedy + swap) must reach the same optimum.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use mosaico_analytics::locate::{Instance, Limits, Model};

struct Case {
    instance: Instance,
    /// The same tracts, each weighing 1 (to count tracts).
    tracts: Instance,
    stores: Vec<String>,
}

fn case() -> Case {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/golden/spopt-sf/SF_network_distance_candidateStore_16_censusTract_205_new.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("distance,name,DestinationName,demand"));
    let (mut stores, mut tracts) = (BTreeMap::new(), BTreeMap::new());
    let mut rows = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let (d, store, tract, w): (f64, &str, &str, f64) = (f[0].parse().unwrap(), f[1], f[2], f[3].parse().unwrap());
        stores.insert(store.to_owned(), ());
        let prev = tracts.insert(tract.to_owned(), w);
        assert!(prev.is_none_or(|p| p == w), "tract {tract} has two weights");
        rows.push((d, store.to_owned(), tract.to_owned()));
    }
    let stores: Vec<String> = stores.into_keys().collect();
    let tract_ids: Vec<&String> = tracts.keys().collect();
    let weights: Vec<f64> = tracts.values().copied().collect();
    let pairs: Vec<(usize, usize, f64)> = rows
        .iter()
        .map(|(d, s, t)| (tract_ids.binary_search(&t).unwrap(), stores.binary_search(s).unwrap(), *d))
        .collect();
    assert_eq!((weights.len(), stores.len(), pairs.len()), (205, 16, 205 * 16));
    Case {
        instance: Instance::from_pairs(weights, stores.len(), pairs.clone()).unwrap(),
        tracts: Instance::from_pairs(vec![1.0; tract_ids.len()], stores.len(), pairs).unwrap(),
        stores,
    }
}

fn names(c: &Case, sites: &[usize]) -> Vec<String> {
    let mut v: Vec<String> = sites.iter().map(|&j| c.stores[j].clone()).collect();
    v.sort_by_key(|s| s.trim_start_matches("Store_").parse::<u32>().unwrap());
    v
}

const HEURISTIC: Limits = Limits { enumerate: 0, swap_passes: 50, work: 1_500_000_000 };

#[test]
fn mclp_at_5000_m_with_four_stores() {
    let c = case();
    let model = Model::Mclp { p: 4, radius: 5_000.0 };
    let exact = c.instance.solve(model, Limits::default()).unwrap();
    assert!(exact.exact);
    assert_eq!(exact.work, 1_820, "every set of four stores");
    assert_eq!(names(&c, &exact.sites), ["Store_2", "Store_11", "Store_12", "Store_15"]);
    assert_eq!(exact.objective, 875_247.0);
    // 184 of the 205 tracts (spopt's perc_cov 89.756 %).
    assert_eq!(c.tracts.covered(&exact.sites, 5_000.0), 184.0);
    let h = c.instance.solve(model, HEURISTIC).unwrap();
    assert!(!h.exact);
    assert_eq!((h.sites.clone(), h.objective), (exact.sites.clone(), exact.objective));
    assert!(h.bound >= h.objective && h.gap() < 0.25, "bound {} for {}", h.bound, h.objective);
}

#[test]
fn p_median_with_four_stores() {
    let c = case();
    let exact = c.instance.solve(Model::PMedian { p: 4 }, Limits::default()).unwrap();
    assert_eq!(names(&c, &exact.sites), ["Store_2", "Store_11", "Store_12", "Store_15"]);
    assert!((exact.objective - 2_848_268_129.714_510_4).abs() < 1e-3, "{}", exact.objective);
    let h = c.instance.solve(Model::PMedian { p: 4 }, HEURISTIC).unwrap();
    assert_eq!(h.sites, exact.sites);
    assert!((h.objective - exact.objective).abs() < 1e-3);
    assert!(h.bound <= h.objective);
}

#[test]
fn set_covering_at_8000_m() {
    let c = case();
    let exact = c.instance.solve(Model::SetCover { radius: 8_000.0 }, Limits::default()).unwrap();
    assert!(exact.exact);
    assert_eq!(exact.objective, 3.0);
    assert_eq!(c.tracts.covered(&exact.sites, 8_000.0), 205.0);
    // spopt's three stores cover every tract too; no two stores do.
    let spopt: Vec<usize> =
        ["Store_2", "Store_11", "Store_14"].iter().map(|s| c.stores.iter().position(|x| x == s).unwrap()).collect();
    assert_eq!(c.tracts.covered(&spopt, 8_000.0), 205.0);
    assert_eq!(exact.bound, 3.0);
    let h = c.instance.solve(Model::SetCover { radius: 8_000.0 }, HEURISTIC).unwrap();
    assert_eq!(h.objective, 3.0);
    // At 1 km some tracts have no store in reach: refused, naming how many.
    let e = c.instance.solve(Model::SetCover { radius: 1_000.0 }, Limits::default()).unwrap_err().to_string();
    assert!(e.contains("infeasible"), "{e}");
}
