//! The location solvers on random instances: the pairs found through the grid are those
//! found by trying every pair; the heuristics' answers lie between their bounds and the
//! optimum that enumeration proves, and reach it on most instances.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mosaico_analytics::fca::haversine_km;
use mosaico_analytics::locate::{Instance, Limits, Model};

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Points around Milan, clustered like a city: weights from a lumpy surface.
/// Weights, demand points and candidate sites.
type Case = (Vec<f64>, Vec<(f64, f64)>, Vec<(f64, f64)>);

fn instance(seed: u64, points: usize, candidates: usize) -> Case {
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let at = |r: &mut Rng| (45.40 + 0.12 * r.next(), 9.10 + 0.17 * r.next());
    let pts: Vec<(f64, f64)> = (0..points).map(|_| at(&mut r)).collect();
    let weights: Vec<f64> = pts.iter().map(|_| (1.0 + 100.0 * r.next().powi(3)).round()).collect();
    let sites: Vec<(f64, f64)> = (0..candidates).map(|_| at(&mut r)).collect();
    (weights, pts, sites)
}

#[test]
fn the_grid_finds_exactly_the_pairs_in_reach() {
    let (w, pts, sites) = instance(7, 3_000, 200);
    for km in [0.3, 1.0, 2.5] {
        let grid = Instance::from_points(w.clone(), &pts, &sites, km, usize::MAX).unwrap();
        let brute = sites.iter().map(|s| pts.iter().filter(|p| haversine_km(*s, **p) <= km).count()).sum::<usize>();
        assert_eq!(grid.pairs(), brute, "{km} km");
        // Coverage by one site is its points in reach, by weight.
        for j in [0, 57, 199] {
            let by_hand: f64 =
                pts.iter().zip(&w).filter(|(p, _)| haversine_km(sites[j], **p) <= km).map(|(_, w)| w).sum();
            assert_eq!(grid.covered(&[j], km), by_hand);
        }
    }
    let e = Instance::from_points(w, &pts, &sites, 5.0, 1_000).unwrap_err().to_string();
    assert!(e.contains("more than 1000 (point, site) pairs lie within 5 km"), "{e}");
}

#[test]
fn heuristics_lie_between_their_bounds_and_the_proven_optimum() {
    let heuristic = Limits { enumerate: 0, ..Limits::default() };
    let (mut mclp_hits, mut median_hits, mut runs) = (0, 0, 0);
    for seed in 1..=12u64 {
        let (w, pts, sites) = instance(seed, 400, 22);
        let inst = Instance::from_points(w, &pts, &sites, 50.0, usize::MAX).unwrap();
        for p in [3, 5] {
            runs += 1;
            let model = Model::Mclp { p, radius: 1.5 };
            let exact = inst.solve(model, Limits::default()).unwrap();
            assert!(exact.exact);
            let h = inst.solve(model, heuristic).unwrap();
            assert_eq!(h.sites.len(), p);
            assert_eq!(h.objective, inst.covered(&h.sites, 1.5), "the objective is the sites' coverage");
            assert!(h.objective <= exact.objective + 1e-9, "seed {seed} p {p}");
            assert!(
                h.bound >= exact.objective - 1e-6,
                "seed {seed} p {p}: bound {} < optimum {}",
                h.bound,
                exact.objective
            );
            assert!(h.objective >= 0.97 * exact.objective, "seed {seed} p {p}: {} vs {}", h.objective, exact.objective);
            mclp_hits += usize::from(h.objective == exact.objective);

            let model = Model::PMedian { p };
            let exact = inst.solve(model, Limits::default()).unwrap();
            let h = inst.solve(model, heuristic).unwrap();
            assert!((h.objective - inst.median_cost(&h.sites)).abs() < 1e-6);
            assert!(h.objective >= exact.objective - 1e-6 && h.bound <= exact.objective + 1e-6, "seed {seed} p {p}");
            assert!(h.objective <= 1.03 * exact.objective, "seed {seed} p {p}: {} vs {}", h.objective, exact.objective);
            median_hits += usize::from((h.objective - exact.objective).abs() < 1e-6);
        }
    }
    assert!(mclp_hits * 10 >= runs * 9, "MCLP optimum reached on {mclp_hits} of {runs}");
    assert!(median_hits * 10 >= runs * 8, "p-median optimum reached on {median_hits} of {runs}");
}
