//! The published test cases of PySAL `access` (pysal/access, BSD-3), ported: the
//! three-tract hospital example in its four travel scenarios
//! (`access/tests/test_hospital_example.py`) and the grid checks of
//! `access/tests/test_floating_catchment_area.py`. Agreement to 1e-9.

#![allow(clippy::unwrap_used, clippy::float_cmp)]

use mosaico_analytics::fca::{Cost, Weight, e2sfca_steps, two_stage};

const TOL: f64 = 1e-9;

/// Tracts 1, 2, 3: population 100, 50, 10; doctors 15, 20, 100.
const POP: [f64; 3] = [100.0, 50.0, 10.0];
const DOC: [f64; 3] = [15.0, 20.0, 100.0];

/// The test's costs (origin → destination; 0-based tracts): 1 within a tract, `inbound`
/// from tracts 1 and 2 to tract 3 (the city), `outbound` from 3 to 1 and 2, `cross`
/// between 1 and 2.
fn hospital_costs(inbound: f64, outbound: f64, cross: f64) -> Vec<Cost> {
    let mut out = Vec::new();
    for origin in 0..3 {
        for dest in 0..3 {
            let cost = match (origin, dest) {
                (o, d) if o == d => 1.0,
                (_, 2) => inbound,
                (2, _) => outbound,
                _ => cross,
            };
            out.push(Cost { demand: origin, supply: dest, cost });
        }
    }
    out
}

/// The reference implementation written out in the PySAL test itself (2SFCA branch):
/// d[h] = Σ_r P_r / od[r][h] for od[r][h] < max; r[h] = S_h / d[h];
/// a[r] = Σ_h r[h] / od[r][h] for od[r][h] < max.
fn reference(costs: &[Cost], max: f64) -> [f64; 3] {
    let od = |r: usize, h: usize| costs.iter().find(|c| c.demand == r && c.supply == h).unwrap().cost;
    let d: Vec<f64> = (0..3).map(|h| (0..3).filter(|&r| od(r, h) < max).map(|r| POP[r] / od(r, h)).sum()).collect();
    let ratio: Vec<f64> = (0..3).map(|h| DOC[h] / d[h]).collect();
    let a: Vec<f64> = (0..3).map(|r| (0..3).filter(|&h| od(r, h) < max).map(|h| ratio[h] / od(r, h)).sum()).collect();
    [a[0], a[1], a[2]]
}

#[test]
fn hospital_example_in_four_scenarios() {
    // (inbound, outbound, cross-city): gridlock; faster in; faster out; faster both ways.
    let scenarios = [(40.0, 40.0, 80.0), (20.0, 40.0, 80.0), (40.0, 20.0, 80.0), (20.0, 20.0, 40.0)];
    // The values of the test's reference implementation (recomputed from it in Python).
    let published = [
        [0.3314441169802766, 0.5798281320669381, 7.286418169862544],
        [0.4353402208763805, 0.683724235963042, 5.727976611420986],
        [0.3310719131614654, 0.5778577857785778, 7.299991939492457],
        [0.4425683953985841, 0.6667582799658271, 5.7405246461850234],
    ];
    // weights.gravity(1, -1): 1 / cost; max_cost = 61.
    let gravity = Weight::Gravity { scale: 1.0, alpha: -1.0, min: 0.0 };
    let mut values = Vec::new();
    for (n, &(inbound, outbound, cross)) in scenarios.iter().enumerate() {
        let costs = hospital_costs(inbound, outbound, cross);
        let got: Vec<f64> =
            two_stage(&POP, &DOC, &costs, Some(61.0), &gravity).into_iter().map(Option::unwrap).collect();
        let want = reference(&costs, 61.0);
        for k in 0..3 {
            assert!((got[k] - want[k]).abs() < TOL, "scenario {n}, tract {}: {} vs {}", k + 1, got[k], want[k]);
            assert!((got[k] - published[n][k]).abs() < TOL, "scenario {n}, tract {}: {}", k + 1, got[k]);
        }
        values.push(got);
    }
    // The test's qualitative checks: faster travel into the city helps the suburbs and
    // costs the city; faster travel out does the opposite; faster both ways helps the suburbs.
    let v = &values;
    assert!(v[1][0] > v[0][0] && v[1][1] > v[0][1] && v[1][2] < v[0][2]);
    assert!(v[2][0] < v[0][0] && v[2][1] < v[0][1] && v[2][2] > v[0][2]);
    assert!(v[3][0] > v[0][0] && v[3][1] > v[0][1] && v[3][2] < v[0][2]);
}

/// `create_nxn_grid(5)` and `create_cost_matrix(grid, 'euclidean')`: 25 cells with
/// value 1, every ordered pair (self-pairs included, cost 0) at Euclidean distance.
fn grid_costs(demand_ids: &[usize]) -> Vec<Cost> {
    let xy = |id: usize| ((id / 5) as f64, (id % 5) as f64);
    let mut out = Vec::new();
    for (i, &d) in demand_ids.iter().enumerate() {
        for s in 0..25 {
            let ((x0, y0), (x1, y1)) = (xy(d), xy(s));
            out.push(Cost { demand: i, supply: s, cost: ((x0 - x1).powi(2) + (y0 - y1).powi(2)).sqrt() });
        }
    }
    out
}

#[test]
fn grid_huge_catchment_gives_total_supply_over_total_demand_everywhere() {
    // Five demand cells among the 25 supply cells (PySAL samples them at random: any five do).
    for demand_ids in [[0, 6, 12, 18, 24], [1, 2, 3, 4, 5], [20, 21, 22, 23, 24]] {
        let costs = grid_costs(&demand_ids);
        let (demand, supply) = ([1.0; 5], [1.0; 25]);
        for weight in [Weight::Flat, e2sfca_steps(30.0), Weight::Gaussian { sigma: 1e9 }] {
            for max in [None, Some(1e9)] {
                for a in two_stage(&demand, &supply, &costs, max, &weight) {
                    let a = a.unwrap();
                    assert!((a - 25.0 / 5.0).abs() < TOL, "{weight:?} {max:?}: {a}");
                }
            }
        }
        // E2SFCA with PySAL's own, unscaled steps: every grid distance is under 10.
        let pysal_steps = Weight::Steps(vec![(10.0, 1.0), (20.0, 0.68), (30.0, 0.22)]);
        for a in two_stage(&demand, &supply, &costs, None, &pysal_steps) {
            assert!((a.unwrap() - 5.0).abs() < TOL);
        }
    }
}

#[test]
fn grid_tiny_catchment_gives_each_cell_its_own_ratio() {
    let demand_ids = [0, 6, 12, 18, 24];
    let costs = grid_costs(&demand_ids);
    // max_cost = 0.9: only a cell's own supply is in reach: 1 / 1.
    for weight in [Weight::Flat, e2sfca_steps(0.9), Weight::Gaussian { sigma: 0.5 }] {
        for a in two_stage(&[1.0; 5], &[1.0; 25], &costs, Some(0.9), &weight) {
            assert!((a.unwrap() - 1.0).abs() < TOL, "{weight:?}: {a:?}");
        }
    }
    // With uneven values, each cell's own supply over its own demand.
    let demand = [2.0, 4.0, 5.0, 8.0, 10.0];
    let mut supply = [0.0; 25];
    for (k, &id) in demand_ids.iter().enumerate() {
        supply[id] = (k + 1) as f64;
    }
    let got = two_stage(&demand, &supply, &costs, Some(0.9), &Weight::Flat);
    for (k, a) in got.iter().enumerate() {
        assert!((a.unwrap() - supply[demand_ids[k]] / demand[k]).abs() < TOL);
    }
    // max_cost = 0: nothing is strictly closer than 0, so nothing is in reach (PySAL: NaN).
    assert!(two_stage(&[1.0; 5], &[1.0; 25], &costs, Some(0.0), &Weight::Flat).iter().all(Option::is_none));
}

#[test]
fn weighted_demand_and_supply_follow_the_steps() {
    // The E2SFCA weights scaled to a 3 km catchment: 1 up to 1 km, 0.68 up to 2 km, 0.22 up to 3 km.
    let w = e2sfca_steps(3.0);
    let costs = [
        Cost { demand: 0, supply: 0, cost: 0.5 },
        Cost { demand: 1, supply: 0, cost: 1.5 },
        Cost { demand: 2, supply: 0, cost: 2.5 },
        Cost { demand: 3, supply: 0, cost: 3.5 },
    ];
    let demand = [100.0, 100.0, 100.0, 100.0];
    let got = two_stage(&demand, &[190.0], &costs, Some(3.0), &w);
    // D = 100 (1 + 0.68 + 0.22) = 190, R = 1; A_i = W_i · R.
    assert_eq!(got.len(), 4);
    for (a, want) in got.iter().zip([Some(1.0), Some(0.68), Some(0.22), None]) {
        match (a, want) {
            (Some(a), Some(w)) => assert!((a - w).abs() < TOL, "{a} vs {w}"),
            (a, w) => assert_eq!(*a, w),
        }
    }
}
