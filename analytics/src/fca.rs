//! Floating-catchment accessibility: the two-step floating catchment area (2SFCA, Luo &
//! Wang 2003), its enhanced form with distance steps (E2SFCA, Luo & Qi 2009) and with
//! Gaussian decay, defined as PySAL `access` computes them (`access/fca.py`):
//!
//! ```text
//!  step 1, each supply site j:   D_j = Σ_i W(c_ij) · P_i      over pairs with c_ij < max
//!                                R_j = S_j / D_j
//!  step 2, each demand site i:   A_i = Σ_j W(c_ij) · R_j      over pairs with c_ij < max
//! ```
//!
//! The catchment is strict (`<`), as in PySAL, and the same weight applies in both steps.
//! A demand site with no supply in reach has no value (PySAL: NaN). One divergence: a
//! supply site whose catchment holds no weighted demand (`D_j = 0`) has no ratio and adds
//! nothing, where PySAL would carry an infinity or a NaN forward.

/// A distance-decay weight `W(c)`.
#[derive(Debug, Clone, PartialEq)]
pub enum Weight {
    /// 1 everywhere: the original 2SFCA.
    Flat,
    /// Steps `(upper bound, weight)`, sorted by bound: the weight of the first bound not
    /// below the cost, 0 beyond the last (PySAL `weights.step_fn`).
    Steps(Vec<(f64, f64)>),
    /// `exp(-c² / 2σ²)` (PySAL `weights.gaussian`).
    Gaussian {
        /// σ, in cost units.
        sigma: f64,
    },
    /// `(max(c, min) / scale)^alpha` (PySAL `weights.gravity`).
    Gravity {
        /// Scale.
        scale: f64,
        /// Exponent (negative for decay).
        alpha: f64,
        /// Costs below this count as this.
        min: f64,
    },
}

/// The E2SFCA steps of PySAL `access` ({10: 1, 20: 0.68, 30: 0.22}, in minutes) scaled to a
/// catchment: the same weights at a third, two thirds and all of it.
pub fn e2sfca_steps(catchment: f64) -> Weight {
    Weight::Steps(vec![(catchment / 3.0, 1.0), (catchment * 2.0 / 3.0, 0.68), (catchment, 0.22)])
}

impl Weight {
    /// The weight at cost `c`.
    pub fn at(&self, c: f64) -> f64 {
        match self {
            Weight::Flat => 1.0,
            Weight::Steps(steps) => steps.iter().find(|(bound, _)| c <= *bound).map_or(0.0, |(_, w)| *w),
            Weight::Gaussian { sigma } => (-c * c / (2.0 * sigma * sigma)).exp(),
            Weight::Gravity { scale, alpha, min } => (c.max(*min) / scale).powf(*alpha),
        }
    }
}

/// The cost between demand site `demand` and supply site `supply` (indices into the
/// demand and supply slices).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cost {
    /// Demand site.
    pub demand: usize,
    /// Supply site.
    pub supply: usize,
    /// Travel cost (distance, time).
    pub cost: f64,
}

/// Two-step floating catchment: the accessibility of each demand site (`None`: no supply
/// within reach). `demand[i]` is the population of site i, `supply[j]` the capacity of
/// site j; `costs` lists the pairs that can be travelled (pairs not listed are out of
/// reach); `max_cost` bounds the catchment (`None`: no bound).
pub fn two_stage(
    demand: &[f64],
    supply: &[f64],
    costs: &[Cost],
    max_cost: Option<f64>,
    weight: &Weight,
) -> Vec<Option<f64>> {
    let inside = |c: &Cost| max_cost.is_none_or(|m| c.cost < m) && c.demand < demand.len() && c.supply < supply.len();
    let mut weighted = vec![0.0; supply.len()];
    let mut reached = vec![false; supply.len()];
    let weights: Vec<f64> = costs.iter().map(|c| if inside(c) { weight.at(c.cost) } else { f64::NAN }).collect();
    for (c, w) in costs.iter().zip(&weights) {
        if !w.is_nan() {
            weighted[c.supply] += w * demand[c.demand];
            reached[c.supply] = true;
        }
    }
    let ratio: Vec<Option<f64>> =
        supply.iter().zip(weighted.iter().zip(&reached)).map(|(s, (d, r))| (*r && *d > 0.0).then(|| s / d)).collect();
    let mut access: Vec<Option<f64>> = vec![None; demand.len()];
    for (c, w) in costs.iter().zip(&weights) {
        if w.is_nan() {
            continue;
        }
        if let Some(r) = ratio[c.supply] {
            *access[c.demand].get_or_insert(0.0) += w * r;
        }
    }
    access
}

/// Haversine distance in kilometres between two (lat, lng) points in degrees.
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6_371.008_8;
    let (la1, la2) = (a.0.to_radians(), b.0.to_radians());
    let (dla, dlo) = ((b.0 - a.0).to_radians(), (b.1 - a.1).to_radians());
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::float_cmp)]
mod tests {
    use super::*;

    #[test]
    fn weights_match_pysal_doctests() {
        // weights.step_fn({20: 1, 40: 0.68, 60: 0.22}) doctest.
        let steps = Weight::Steps(vec![(20.0, 1.0), (40.0, 0.68), (60.0, 0.22)]);
        let got: Vec<f64> = [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0].iter().map(|&c| steps.at(c)).collect();
        assert_eq!(got, [1.0, 1.0, 1.0, 0.68, 0.68, 0.22, 0.22, 0.0]);
        // weights.gaussian(sigma=20) doctest.
        let g = Weight::Gaussian { sigma: 20.0 };
        for (c, w) in [(0.0, 1.0), (20.0, 0.6065306597126334), (40.0, 0.1353352832366127), (60.0, 0.011108996538242306)]
        {
            assert!((g.at(c) - w).abs() < 1e-15, "{c}: {}", g.at(c));
        }
        // weights.gravity(scale=20, alpha=-2, min_dist=1) doctest.
        let grav = Weight::Gravity { scale: 20.0, alpha: -2.0, min: 1.0 };
        for (c, w) in [(0.0, 400.0), (1.0, 400.0), (2.0, 100.0), (20.0, 1.0), (40.0, 0.25)] {
            assert!((grav.at(c) - w).abs() < 1e-12, "{c}: {}", grav.at(c));
        }
        assert_eq!(e2sfca_steps(30.0), Weight::Steps(vec![(10.0, 1.0), (20.0, 0.68), (30.0, 0.22)]));
    }

    #[test]
    fn haversine_knows_milan() {
        // Duomo to Stazione Centrale: about 2.7 km as the crow flies.
        let d = haversine_km((45.4642, 9.1900), (45.4861, 9.2046));
        assert!((d - 2.7).abs() < 0.1, "{d}");
        assert_eq!(haversine_km((45.0, 9.0), (45.0, 9.0)), 0.0);
    }
}
