//! Location optimisation: where to open the next services.
//!
//! ```text
//!  demand points (weights) × candidate sites ──costs (matrix or pairs)──▶ Instance
//!  Instance + Model::{Mclp, PMedian, SetCover}
//!     small (C(n, p) ≤ limit) ──▶ exhaustive enumeration: the optimum, proven
//!     large                   ──▶ lazy greedy, then swap (vertex substitution) local search,
//!                                  with a bound: how far the optimum can be at most
//! ```
//!
//! The models are those of PySAL `spopt`: the maximal covering location problem (MCLP:
//! open p sites, maximise the demand within the service radius, `cost <= radius`), the
//! p-median problem (open p sites, minimise the weighted cost of each demand point to its
//! nearest open site) and the location set covering problem (LSCP: the fewest sites that
//! cover every demand point).
//!
//! Bounds for the heuristics: MCLP's coverage is submodular, so the optimum is at most the
//! solution's value plus the p largest gains any single site would still add
//! (Nemhauser, Wolsey & Fisher 1978). For the p-median, every point costs at least its
//! distance to the nearest candidate. For set covering, points whose candidate sets are
//! pairwise disjoint each need a site of their own.

use std::collections::BinaryHeap;

use crate::{Error, Result};

/// Demand points and candidate sites, with the cost of serving each point from each
/// site in reach.
#[derive(Debug, Clone)]
pub struct Instance {
    weights: Vec<f64>,
    /// For each candidate, the demand points in reach and their cost, by point.
    reach: Vec<Vec<(u32, f64)>>,
}

/// A model to solve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Model {
    /// Open `p` sites covering the most demand within `radius`.
    Mclp {
        /// Sites to open.
        p: usize,
        /// Service radius (cost units): a point is covered at cost ≤ radius.
        radius: f64,
    },
    /// Open `p` sites minimising Σ weight × cost to the nearest open site.
    PMedian {
        /// Sites to open.
        p: usize,
    },
    /// The fewest sites covering every demand point within `radius`.
    SetCover {
        /// Service radius.
        radius: f64,
    },
}

/// How hard to try.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Solve exactly by enumeration when there are at most this many site sets.
    pub enumerate: u64,
    /// Passes of one swap local search at most.
    pub swap_passes: usize,
    /// (site, point) pairs the MCLP's local searches may read in all (each pass reads
    /// every pair once): what bounds its time on large instances.
    pub work: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { enumerate: 2_000_000, swap_passes: 500, work: 1_500_000_000 }
    }
}

/// A solution and what is known of its quality.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// The open sites (candidate indices), sorted.
    pub sites: Vec<usize>,
    /// MCLP: demand covered; p-median: total weighted cost; set covering: sites opened.
    pub objective: f64,
    /// The best the optimum can be (equal to `objective` when proven optimal).
    pub bound: f64,
    /// Whether the solution is proven optimal (enumeration).
    pub exact: bool,
    /// Site sets evaluated (enumeration) or swaps tried (local search).
    pub work: u64,
}

impl Solution {
    /// The relative distance between the objective and the bound (0 when optimal).
    pub fn gap(&self) -> f64 {
        let scale = self.bound.abs().max(self.objective.abs()).max(f64::MIN_POSITIVE);
        (self.bound - self.objective).abs() / scale
    }
}

/// The number of k-subsets of n, saturating.
pub fn binomial(n: usize, k: usize) -> u64 {
    if k > n {
        return 0;
    }
    let k = k.min(n - k);
    let mut c: u128 = 1;
    for i in 0..k {
        c = c * (n - i) as u128 / (i + 1) as u128;
        if c > u64::MAX as u128 {
            return u64::MAX;
        }
    }
    c as u64
}

impl Instance {
    /// From a full matrix `cost[demand][candidate]` (`f64::INFINITY`: no way there).
    pub fn from_matrix(weights: Vec<f64>, cost: &[Vec<f64>]) -> Result<Instance> {
        if cost.len() != weights.len() {
            return Err(Error::Invalid(format!(
                "the cost matrix has {} rows for {} demand points",
                cost.len(),
                weights.len()
            )));
        }
        let candidates = cost.first().map_or(0, Vec::len);
        let mut pairs = Vec::new();
        for (i, row) in cost.iter().enumerate() {
            if row.len() != candidates {
                return Err(Error::Invalid(format!(
                    "row {i} of the cost matrix has {} columns, not {candidates}",
                    row.len()
                )));
            }
            pairs.extend(row.iter().enumerate().filter(|(_, c)| c.is_finite()).map(|(j, c)| (i, j, *c)));
        }
        Instance::from_pairs(weights, candidates, pairs)
    }

    /// From the (demand, candidate, cost) pairs that can be travelled.
    pub fn from_pairs(
        weights: Vec<f64>,
        candidates: usize,
        pairs: impl IntoIterator<Item = (usize, usize, f64)>,
    ) -> Result<Instance> {
        if let Some((i, w)) = weights.iter().enumerate().find(|(_, w)| !w.is_finite() || **w < 0.0) {
            return Err(Error::Invalid(format!("demand point {i} has weight {w}; weights are finite and ≥ 0")));
        }
        if weights.len() > u32::MAX as usize {
            return Err(Error::Invalid(format!("{} demand points are more than this solver takes", weights.len())));
        }
        let mut reach = vec![Vec::new(); candidates];
        for (i, j, c) in pairs {
            if i >= weights.len() || j >= candidates {
                return Err(Error::Invalid(format!(
                    "pair ({i}, {j}) is outside {} demand points × {candidates} candidates",
                    weights.len()
                )));
            }
            if c.is_nan() || c < 0.0 {
                return Err(Error::Invalid(format!("the cost from demand point {i} to candidate {j} is {c}")));
            }
            reach[j].push((i as u32, c));
        }
        for r in &mut reach {
            r.sort_unstable_by_key(|x| x.0);
        }
        Ok(Instance { weights, reach })
    }

    /// From demand points and candidate sites in (lat, lon) degrees, with the haversine
    /// distance in km of every pair within `max_km` (found through a grid of
    /// `max_km`-wide buckets, not by trying every pair). Refuses instances with more
    /// than `max_pairs` pairs in reach.
    pub fn from_points(
        weights: Vec<f64>,
        points: &[(f64, f64)],
        candidates: &[(f64, f64)],
        max_km: f64,
        max_pairs: usize,
    ) -> Result<Instance> {
        if points.len() != weights.len() {
            return Err(Error::Invalid(format!("{} demand points for {} weights", points.len(), weights.len())));
        }
        if !(max_km.is_finite() && max_km > 0.0) {
            return Err(Error::Invalid(format!("the radius is {max_km} km; give a positive distance")));
        }
        let bad = |what: &str, i: usize, (lat, lon): (f64, f64)| {
            Error::Invalid(format!("{what} {i} is at ({lat}, {lon}), not a latitude and longitude in degrees"))
        };
        let valid = |(lat, lon): (f64, f64)| lat.abs() <= 90.0 && lon.abs() <= 180.0;
        if let Some(i) = points.iter().position(|x| !valid(*x)) {
            return Err(bad("demand point", i, points[i]));
        }
        if let Some(j) = candidates.iter().position(|x| !valid(*x)) {
            return Err(bad("candidate", j, candidates[j]));
        }
        const KM_PER_DEGREE: f64 = 111.194_9;
        let max_lat = points.iter().chain(candidates).map(|x| x.0.abs()).fold(0.0, f64::max).min(89.0);
        let dlat = max_km / KM_PER_DEGREE;
        let dlon = dlat / max_lat.to_radians().cos();
        let key = |(lat, lon): (f64, f64)| ((lat / dlat).floor() as i64, (lon / dlon).floor() as i64);
        let mut buckets: std::collections::HashMap<(i64, i64), Vec<u32>> = std::collections::HashMap::new();
        for (i, x) in points.iter().enumerate() {
            buckets.entry(key(*x)).or_default().push(i as u32);
        }
        let mut pairs = Vec::new();
        for (j, c) in candidates.iter().enumerate() {
            let (a, b) = key(*c);
            for (da, db) in [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 0), (0, 1), (1, -1), (1, 0), (1, 1)] {
                for &i in buckets.get(&(a + da, b + db)).into_iter().flatten() {
                    let km = crate::fca::haversine_km(*c, points[i as usize]);
                    if km <= max_km {
                        pairs.push((i as usize, j, km));
                    }
                }
            }
            if pairs.len() > max_pairs {
                return Err(Error::Invalid(format!(
                    "more than {max_pairs} (point, site) pairs lie within {max_km} km (at candidate {j} of {}): \
                     narrow the radius or give fewer candidates",
                    candidates.len()
                )));
            }
        }
        Instance::from_pairs(weights, candidates.len(), pairs)
    }

    /// The demand weight some candidate reaches (the most any set of sites can serve).
    pub fn reachable_weight(&self) -> f64 {
        let mut hit = vec![false; self.points()];
        for r in &self.reach {
            for &(i, _) in r {
                hit[i as usize] = true;
            }
        }
        hit.iter().zip(&self.weights).filter(|(h, _)| **h).map(|(_, w)| w).sum()
    }

    /// The (point, site) pairs in reach.
    pub fn pairs(&self) -> usize {
        self.reach.iter().map(Vec::len).sum()
    }

    /// Demand points.
    pub fn points(&self) -> usize {
        self.weights.len()
    }

    /// Candidate sites.
    pub fn candidates(&self) -> usize {
        self.reach.len()
    }

    /// The demand points candidate `j` covers within `radius`.
    fn covers(&self, j: usize, radius: f64) -> impl Iterator<Item = usize> + '_ {
        self.reach[j].iter().filter(move |(_, c)| *c <= radius).map(|(i, _)| *i as usize)
    }

    /// Demand covered within `radius` by `sites`.
    pub fn covered(&self, sites: &[usize], radius: f64) -> f64 {
        self.reached(sites, radius).iter().zip(&self.weights).filter(|(h, _)| **h).map(|(_, w)| w).sum()
    }

    /// Which demand points `sites` reach within `radius`.
    pub fn reached(&self, sites: &[usize], radius: f64) -> Vec<bool> {
        let mut hit = vec![false; self.points()];
        for &j in sites {
            for i in self.covers(j, radius) {
                hit[i] = true;
            }
        }
        hit
    }

    /// `sites` in the order a greedy choice would take them, with the demand each
    /// covers within `radius` that the ones before it do not.
    pub fn ranked(&self, sites: &[usize], radius: f64) -> (Vec<usize>, Vec<f64>) {
        let mut hit = vec![false; self.points()];
        let mut left = sites.to_vec();
        let (mut order, mut adds) = (Vec::new(), Vec::new());
        while !left.is_empty() {
            let add = |j: usize, hit: &[bool]| {
                self.covers(j, radius).filter(|&i| !hit[i]).map(|i| self.weights[i]).sum::<f64>()
            };
            let (k, a) = left
                .iter()
                .enumerate()
                .map(|(k, &j)| (k, add(j, &hit)))
                .fold((0, f64::NEG_INFINITY), |best, x| if x.1 > best.1 { x } else { best });
            let j = left.remove(k);
            for i in self.covers(j, radius) {
                hit[i] = true;
            }
            order.push(j);
            adds.push(a);
        }
        (order, adds)
    }

    /// The demand weight whose nearest of `sites` is each site (ties to the first).
    pub fn assigned(&self, sites: &[usize]) -> Vec<f64> {
        let mut best = vec![(f64::INFINITY, usize::MAX); self.points()];
        for (k, &j) in sites.iter().enumerate() {
            for &(i, c) in &self.reach[j] {
                if c < best[i as usize].0 {
                    best[i as usize] = (c, k);
                }
            }
        }
        let mut out = vec![0.0; sites.len()];
        for (i, (_, k)) in best.iter().enumerate() {
            if *k != usize::MAX {
                out[*k] += self.weights[i];
            }
        }
        out
    }

    /// Σ weight × cost to the nearest of `sites` (infinite if a point reaches none).
    pub fn median_cost(&self, sites: &[usize]) -> f64 {
        let mut best = vec![f64::INFINITY; self.points()];
        for &j in sites {
            for &(i, c) in &self.reach[j] {
                let b = &mut best[i as usize];
                *b = b.min(c);
            }
        }
        best.iter().zip(&self.weights).map(|(c, w)| if *w == 0.0 { 0.0 } else { c * w }).sum()
    }

    fn check_p(&self, p: usize) -> Result<()> {
        if p == 0 || p > self.candidates() {
            return Err(Error::Invalid(format!(
                "p = {p}: open between 1 and {} sites (the candidates)",
                self.candidates()
            )));
        }
        Ok(())
    }

    /// Solves `model`: exactly when enumeration fits in `limits`, heuristically otherwise.
    pub fn solve(&self, model: Model, limits: Limits) -> Result<Solution> {
        match model {
            Model::Mclp { p, radius } => {
                self.check_p(p)?;
                if binomial(self.candidates(), p) <= limits.enumerate {
                    Ok(self.enumerate(p, |s| self.covered(s, radius), true))
                } else {
                    Ok(self.mclp_heuristic(p, radius, limits))
                }
            }
            Model::PMedian { p } => {
                self.check_p(p)?;
                let unreachable = (0..self.points())
                    .filter(|&i| self.weights[i] > 0.0)
                    .find(|&i| !self.reach.iter().any(|r| r.binary_search_by_key(&(i as u32), |x| x.0).is_ok()));
                if let Some(i) = unreachable {
                    return Err(Error::Invalid(format!(
                        "demand point {i} reaches no candidate: the p-median needs a cost from every point"
                    )));
                }
                if binomial(self.candidates(), p) <= limits.enumerate {
                    Ok(self.enumerate(p, |s| self.median_cost(s), false))
                } else {
                    Ok(self.pmedian_heuristic(p, limits))
                }
            }
            Model::SetCover { radius } => self.set_cover(radius, limits),
        }
    }

    /// Tries every set of p sites; keeps the best (first in lexicographic order on ties).
    fn enumerate(&self, p: usize, value: impl Fn(&[usize]) -> f64, maximise: bool) -> Solution {
        let n = self.candidates();
        let mut s: Vec<usize> = (0..p).collect();
        let (mut best, mut best_v, mut work) = (s.clone(), value(&s), 1u64);
        // Next combination in lexicographic order.
        while let Some(k) = (0..p).rev().find(|&k| s[k] < n - p + k) {
            s[k] += 1;
            for m in k + 1..p {
                s[m] = s[m - 1] + 1;
            }
            let v = value(&s);
            work += 1;
            if (maximise && v > best_v) || (!maximise && v < best_v) {
                best_v = v;
                best.clone_from(&s);
            }
        }
        Solution { sites: best, objective: best_v, bound: best_v, exact: true, work }
    }

    fn mclp_heuristic(&self, p: usize, radius: f64, limits: Limits) -> Solution {
        let n = self.candidates();
        let cover = Csr::new(n, |j| self.covers(j, radius).map(|i| i as u32));
        let w = &self.weights;
        let total: f64 = w.iter().sum();
        // For each point: how many open sites cover it, and the XOR of their indices
        // (with one, that is the site).
        let mut count = vec![0u32; self.points()];
        let mut owner = vec![0u32; self.points()];
        let gain = |j: usize, count: &[u32]| {
            cover.row(j).iter().filter(|&&i| count[i as usize] == 0).map(|&i| w[i as usize]).sum::<f64>()
        };
        // Lazy greedy: gains only shrink as sites open (submodularity).
        let mut heap: BinaryHeap<(Ordered, std::cmp::Reverse<usize>)> =
            (0..n).map(|j| (Ordered(gain(j, &count)), std::cmp::Reverse(j))).collect();
        let mut slot_of = vec![u32::MAX; n];
        let mut sites = Vec::with_capacity(p);
        let open_site = |j: usize, count: &mut [u32], owner: &mut [u32]| {
            for &i in cover.row(j) {
                count[i as usize] += 1;
                owner[i as usize] ^= j as u32;
            }
        };
        while sites.len() < p {
            let Some((Ordered(g), std::cmp::Reverse(j))) = heap.pop() else { break };
            let fresh = gain(j, &count);
            if fresh + 1e-12 < g && heap.peek().is_some_and(|(Ordered(next), _)| fresh < *next) {
                heap.push((Ordered(fresh), std::cmp::Reverse(j)));
                continue;
            }
            slot_of[j] = sites.len() as u32;
            sites.push(j);
            open_site(j, &mut count, &mut owner);
        }
        let covered = |count: &[u32]| count.iter().zip(w).filter(|(c, _)| **c > 0).map(|(_, w)| w).sum::<f64>();
        let bound_at = |count: &[u32], slot_of: &[u32]| {
            let mut gains: Vec<f64> = (0..n).filter(|&k| slot_of[k] == u32::MAX).map(|k| gain(k, count)).collect();
            let top = p.min(gains.len());
            if top > 0 {
                gains.select_nth_unstable_by(top - 1, |a, b| b.total_cmp(a));
            }
            covered(count) + gains[..top].iter().sum::<f64>()
        };
        let greedy = covered(&count);
        // Greedy is within 1 − (1 − 1/p)^p of the optimum (Nemhauser, Wolsey & Fisher).
        let ratio = 1.0 - (1.0 - 1.0 / p as f64).powi(p as i32);
        // No set covers more than the demand some candidate reaches.
        let mut reachable = vec![false; self.points()];
        cover.items.iter().for_each(|&i| reachable[i as usize] = true);
        let coverable: f64 = reachable.iter().zip(w).filter(|(r, _)| **r).map(|(_, w)| w).sum();
        let mut bound = coverable.min(greedy / ratio).min(bound_at(&count, &slot_of));
        // Passes left to the local searches.
        let mut left = (limits.work / (cover.items.len() as u64).max(1)).max(20);
        let (mut sites, mut objective, mut work) = self.mclp_swaps(&cover, sites, limits.swap_passes, &mut left);
        let eps = 1e-9 * total.max(1.0);
        if bound - objective > eps {
            // The Lagrangian relaxation bounds the optimum and, on the way, proposes sets
            // of its own: the best of them is searched from too.
            let (lagrange, proposal) = self.mclp_lagrangian(&cover, p, objective, bound);
            bound = bound.min(lagrange);
            if let Some(start) = proposal {
                let (other, value, more) = self.mclp_swaps(&cover, start, limits.swap_passes, &mut left);
                work += more;
                if value > objective {
                    (sites, objective) = (other, value);
                }
            }
        }
        // Iterated local search: move a few random sites elsewhere, search again, keep
        // the result when it is no worse (a fixed seed: the same answer every run).
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |m: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % m as u64) as usize
        };
        let kick = (p / 10).clamp(1, 5);
        for _ in 0..RESTARTS {
            if bound - objective <= eps || n <= p || left == 0 {
                break;
            }
            let mut trial = sites.clone();
            for _ in 0..kick {
                let s = next(p);
                let k = next(n);
                if !trial.contains(&k) {
                    trial[s] = k;
                }
            }
            let (other, value, more) = self.mclp_swaps(&cover, trial, limits.swap_passes, &mut left);
            work += more;
            if value >= objective {
                (sites, objective) = (other, value);
            }
        }
        let bound = bound.max(objective);
        sites.sort_unstable();
        Solution { sites, objective, bound, exact: false, work }
    }

    /// Swap local search (vertex substitution) for the MCLP from `sites`: best improvement
    /// per pass, then a few plateau moves ([`Walk`]). Closing the site in slot s loses the
    /// demand only it covers (loss[s]); opening k gains the uncovered demand in its reach
    /// plus, for that s, the demand k covers that only s covered (extra[s]). One pass
    /// reads every (site, point) pair once. Returns the best set, its coverage, the swaps
    /// tried.
    fn mclp_swaps(&self, cover: &Csr, mut sites: Vec<usize>, passes: usize, left: &mut u64) -> (Vec<usize>, f64, u64) {
        let n = self.candidates();
        let w = &self.weights;
        let total: f64 = w.iter().sum();
        let mut count = vec![0u32; self.points()];
        let mut owner = vec![0u32; self.points()];
        let mut slot_of = vec![u32::MAX; n];
        let open_site = |j: usize, count: &mut [u32], owner: &mut [u32]| {
            for &i in cover.row(j) {
                count[i as usize] += 1;
                owner[i as usize] ^= j as u32;
            }
        };
        for (s, &j) in sites.iter().enumerate() {
            slot_of[j] = s as u32;
            open_site(j, &mut count, &mut owner);
        }
        let covered = |count: &[u32]| count.iter().zip(w).filter(|(c, _)| **c > 0).map(|(_, w)| w).sum::<f64>();
        let mut work = 0u64;
        let mut loss = vec![0.0f64; sites.len()];
        let mut extra = vec![0.0f64; sites.len()];
        let mut touched: Vec<usize> = Vec::new();
        let eps = 1e-9 * total.max(1.0);
        let mut walk = Walk::new(&sites, covered(&count), true);
        for _ in 0..passes {
            if *left == 0 {
                break;
            }
            *left -= 1;
            loss.iter_mut().for_each(|l| *l = 0.0);
            for (i, (&c, &o)) in count.iter().zip(&owner).enumerate() {
                if c == 1 {
                    loss[slot_of[o as usize] as usize] += w[i];
                }
            }
            let (min_slot, min_loss) =
                loss.iter().copied().enumerate().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap_or((0, 0.0));
            let mut moves: Vec<(f64, usize, usize)> = Vec::new();
            for k in (0..n).filter(|&k| slot_of[k] == u32::MAX) {
                work += 1;
                let mut g0 = 0.0;
                for &i in cover.row(k) {
                    let i = i as usize;
                    match count[i] {
                        0 => g0 += w[i],
                        1 => {
                            let s = slot_of[owner[i] as usize] as usize;
                            if extra[s] == 0.0 {
                                touched.push(s);
                            }
                            extra[s] += w[i];
                        }
                        _ => {}
                    }
                }
                let (mut out, mut delta) = (min_slot, g0 - min_loss);
                for &s in &touched {
                    if g0 + extra[s] - loss[s] > delta {
                        (out, delta) = (s, g0 + extra[s] - loss[s]);
                    }
                    extra[s] = 0.0;
                }
                touched.clear();
                moves.push((delta, k, out));
            }
            let Some((k, s)) = walk.next_move(&sites, &mut moves, eps) else { break };
            let out = sites[s];
            for &i in cover.row(out) {
                count[i as usize] -= 1;
                owner[i as usize] ^= out as u32;
            }
            open_site(k, &mut count, &mut owner);
            slot_of[out] = u32::MAX;
            slot_of[k] = s as u32;
            sites[s] = k;
            walk.record(&sites, covered(&count));
        }
        let value = walk.best_value.max(covered(&count));
        if walk.best_value >= covered(&count) {
            sites = walk.best;
        }
        (sites, value, work)
    }

    /// A Lagrangian bound for the MCLP: with multipliers λ_i ∈ [0, w_i] on the coverage
    /// constraints (y_i ≤ Σ_{j covering i} x_j),
    /// `L(λ) = Σ_i (w_i − λ_i) + the p largest Σ_{i covered by j} λ_i` bounds the optimum
    /// for every λ; subgradient steps (Held, Wolfe & Crowder 1974) bring it down toward
    /// the optimum, starting from the best bound so far. Each step reads every pair once.
    fn mclp_lagrangian(&self, cover: &Csr, p: usize, lower: f64, upper: f64) -> (f64, Option<Vec<usize>>) {
        const STEPS: usize = 500;
        let w = &self.weights;
        let n = cover.offsets.len() - 1;
        let mut reachable = vec![false; self.points()];
        for &i in &cover.items {
            reachable[i as usize] = true;
        }
        // Points no candidate reaches are covered by no solution: left out.
        let mut lambda: Vec<f64> = w.iter().zip(&reachable).map(|(w, r)| if *r { w * 0.5 } else { 0.0 }).collect();
        let mut best = upper;
        let mut theta = 2.0;
        let mut since_better = 0;
        let mut c: Vec<(f64, usize)> = vec![(0.0, 0); n];
        let mut hits = vec![0u32; self.points()];
        let mut proposal: Option<(f64, Vec<usize>)> = None;
        for _ in 0..STEPS {
            for (j, x) in c.iter_mut().enumerate() {
                *x = (cover.row(j).iter().map(|&i| lambda[i as usize]).sum(), j);
            }
            let top = p.min(n);
            if top == 0 {
                break;
            }
            c.select_nth_unstable_by(top - 1, |a, b| b.0.total_cmp(&a.0));
            let first: f64 = w.iter().zip(&lambda).zip(&reachable).filter(|(_, r)| **r).map(|((w, l), _)| w - l).sum();
            let value = first + c[..top].iter().map(|x| x.0).sum::<f64>();
            if value < best - 1e-9 * best.abs().max(1.0) {
                best = value;
                since_better = 0;
            } else {
                since_better += 1;
                if since_better >= 20 {
                    theta /= 2.0;
                    since_better = 0;
                }
            }
            if best - lower <= 1e-7 * lower.abs().max(1.0) || theta < 1e-5 {
                break;
            }
            hits.iter_mut().for_each(|h| *h = 0);
            for &(_, j) in &c[..top] {
                for &i in cover.row(j) {
                    hits[i as usize] += 1;
                }
            }
            let reached: f64 = hits.iter().zip(w).filter(|(h, _)| **h > 0).map(|(_, w)| w).sum();
            if proposal.as_ref().is_none_or(|(v, _)| reached > *v) {
                proposal = Some((reached, c[..top].iter().map(|x| x.1).collect()));
            }
            // Subgradient: sites chosen covering i, minus 1 where the relaxation takes y_i
            // (λ_i < w_i).
            let g: Vec<f64> = (0..self.points())
                .map(|i| if reachable[i] { f64::from(hits[i]) - if lambda[i] < w[i] { 1.0 } else { 0.0 } } else { 0.0 })
                .collect();
            let norm: f64 = g.iter().map(|x| x * x).sum();
            if norm == 0.0 {
                break;
            }
            let step = theta * (value - lower) / norm;
            for (i, gi) in g.iter().enumerate() {
                lambda[i] = (lambda[i] - step * gi).clamp(0.0, w[i]);
            }
        }
        (best, proposal.map(|(_, sites)| sites))
    }

    fn pmedian_heuristic(&self, p: usize, limits: Limits) -> Solution {
        let n = self.candidates();
        let w = &self.weights;
        // A point no open site reaches costs more than any reach (it only happens
        // before every point has a site).
        let far = 2.0 * self.reach.iter().flatten().map(|x| x.1).fold(0.0, f64::max) + 1.0;
        // For each point: the cost to the nearest open site, that site, and the cost to
        // the second nearest.
        let mut d1 = vec![far; self.points()];
        let mut s1 = vec![u32::MAX; self.points()];
        let mut d2 = vec![far; self.points()];
        let mut slot_of = vec![u32::MAX; n];
        let mut sites: Vec<usize> = Vec::with_capacity(p);
        // Greedy: add the site that lowers the total cost most.
        for _ in 0..p {
            let best = (0..n)
                .filter(|&k| slot_of[k] == u32::MAX)
                .map(|k| (k, self.reach[k].iter().map(|&(i, c)| w[i as usize] * (d1[i as usize] - c).max(0.0)).sum()))
                .max_by(|a: &(usize, f64), b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
            let Some((k, _)) = best else { break };
            slot_of[k] = sites.len() as u32;
            sites.push(k);
            for &(i, c) in &self.reach[k] {
                let i = i as usize;
                if c < d1[i] {
                    d1[i] = c;
                    s1[i] = k as u32;
                }
            }
        }
        let nearest = |sites: &[usize], d1: &mut [f64], s1: &mut [u32], d2: &mut [f64]| {
            d1.iter_mut().chain(d2.iter_mut()).for_each(|d| *d = far);
            s1.iter_mut().for_each(|s| *s = u32::MAX);
            for &j in sites {
                for &(i, c) in &self.reach[j] {
                    let i = i as usize;
                    if c < d1[i] {
                        (d2[i], d1[i], s1[i]) = (d1[i], c, j as u32);
                    } else if c < d2[i] {
                        d2[i] = c;
                    }
                }
            }
        };
        // Fast vertex substitution (Whitaker 1983; Resende & Werneck 2004): closing slot
        // s moves its points to their second site (loss[s]); opening k saves
        // max(0, d1 − c) on the points it reaches, plus for that s the points whose
        // nearest is s and to which k is closer than their second site (extra[s]).
        let mut work = 0u64;
        let mut loss = vec![0.0f64; sites.len()];
        let mut extra = vec![0.0f64; sites.len()];
        let mut touched: Vec<usize> = Vec::new();
        let total = |d1: &[f64]| d1.iter().zip(w).map(|(c, w)| if *w == 0.0 { 0.0 } else { c * w }).sum::<f64>();
        let eps = 1e-12 * total(&d1).max(1.0);
        let mut walk = Walk::new(&sites, self.median_cost(&sites), false);
        for _ in 0..limits.swap_passes {
            nearest(&sites, &mut d1, &mut s1, &mut d2);
            loss.iter_mut().for_each(|l| *l = 0.0);
            for i in 0..self.points() {
                if s1[i] != u32::MAX {
                    loss[slot_of[s1[i] as usize] as usize] += w[i] * (d2[i] - d1[i]);
                }
            }
            let (min_slot, min_loss) =
                loss.iter().copied().enumerate().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap_or((0, 0.0));
            let mut moves: Vec<(f64, usize, usize)> = Vec::new();
            for k in (0..n).filter(|&k| slot_of[k] == u32::MAX) {
                work += 1;
                let mut saved = 0.0;
                for &(i, c) in &self.reach[k] {
                    let i = i as usize;
                    if c < d1[i] {
                        saved += w[i] * (d1[i] - c);
                    }
                    if s1[i] != u32::MAX && c < d2[i] {
                        let s = slot_of[s1[i] as usize] as usize;
                        if extra[s] == 0.0 {
                            touched.push(s);
                        }
                        extra[s] += w[i] * (d2[i] - c.max(d1[i]));
                    }
                }
                let (mut out, mut delta) = (min_slot, saved - min_loss);
                for &s in &touched {
                    if saved + extra[s] - loss[s] > delta {
                        (out, delta) = (s, saved + extra[s] - loss[s]);
                    }
                    extra[s] = 0.0;
                }
                touched.clear();
                moves.push((delta, k, out));
            }
            let Some((k, s)) = walk.next_move(&sites, &mut moves, eps) else { break };
            slot_of[sites[s]] = u32::MAX;
            slot_of[k] = s as u32;
            sites[s] = k;
            walk.record(&sites, self.median_cost(&sites));
        }
        let sites = walk.best.clone();
        let objective = self.median_cost(&sites);
        // Every point costs at least its distance to the nearest candidate.
        let all: Vec<usize> = (0..n).collect();
        let bound = self.median_cost(&all);
        let mut sites = sites;
        sites.sort_unstable();
        Solution { sites, objective, bound, exact: false, work }
    }

    fn set_cover(&self, radius: f64, limits: Limits) -> Result<Solution> {
        let n = self.candidates();
        let cover: Vec<Vec<usize>> = (0..n).map(|j| self.covers(j, radius).collect()).collect();
        let mut by_point: Vec<Vec<usize>> = vec![Vec::new(); self.points()];
        for (j, c) in cover.iter().enumerate() {
            for &i in c {
                by_point[i].push(j);
            }
        }
        let uncovered: Vec<usize> = (0..self.points()).filter(|&i| by_point[i].is_empty()).collect();
        if !uncovered.is_empty() {
            let shown: Vec<String> = uncovered.iter().take(10).map(ToString::to_string).collect();
            return Err(Error::Invalid(format!(
                "no candidate lies within {radius} of {} demand point(s) ({}{}): set covering is infeasible; widen the radius or add candidates",
                uncovered.len(),
                shown.join(", "),
                if uncovered.len() > 10 { ", …" } else { "" }
            )));
        }
        // Lower bound: points with pairwise disjoint candidate sets need a site each.
        let mut order: Vec<usize> = (0..self.points()).collect();
        order.sort_by_key(|&i| by_point[i].len());
        let mut used = vec![false; n];
        let mut bound = 0usize;
        for i in order {
            if by_point[i].iter().all(|&j| !used[j]) {
                bound += 1;
                for &j in &by_point[i] {
                    used[j] = true;
                }
            }
        }
        let full = |s: &[usize]| {
            let mut hit = vec![false; self.points()];
            for &j in s {
                for &i in &cover[j] {
                    hit[i] = true;
                }
            }
            hit.iter().all(|h| *h)
        };
        // Exact: the smallest k with a covering k-set, while enumeration fits.
        let mut work = 0u64;
        for k in bound.max(1)..=n {
            if binomial(n, k).saturating_add(work) > limits.enumerate {
                break;
            }
            let sol = self.enumerate(k, |s| if full(s) { 1.0 } else { 0.0 }, true);
            work += sol.work;
            if sol.objective == 1.0 {
                return Ok(Solution { sites: sol.sites, objective: k as f64, bound: k as f64, exact: true, work });
            }
        }
        // Greedy (most uncovered points per site), then drop sites made redundant.
        let mut hit = vec![false; self.points()];
        let mut left = self.points();
        let mut sites = Vec::new();
        while left > 0 {
            let Some(j) = (0..n).max_by_key(|&j| (cover[j].iter().filter(|&&i| !hit[i]).count(), std::cmp::Reverse(j)))
            else {
                break;
            };
            for &i in &cover[j] {
                if !hit[i] {
                    hit[i] = true;
                    left -= 1;
                }
            }
            sites.push(j);
            work += 1;
        }
        let mut k = sites.len();
        while k > 0 {
            k -= 1;
            let without: Vec<usize> = sites.iter().enumerate().filter(|(m, _)| *m != k).map(|(_, j)| *j).collect();
            if full(&without) {
                sites = without;
            }
        }
        sites.sort_unstable();
        let exact = sites.len() == bound;
        Ok(Solution { objective: sites.len() as f64, bound: bound as f64, sites, exact, work })
    }
}

/// The local search's walk: improving swaps while there are any, then a few of the best
/// swaps to sets not seen before (across a plateau or a small dip), keeping the best set.
struct Walk {
    seen: std::collections::HashSet<Vec<usize>>,
    best: Vec<usize>,
    best_value: f64,
    maximise: bool,
    stalled: usize,
}

/// Swaps without improvement tried in a row before the search stops.
const STALL: usize = 8;

/// Restarts of the MCLP's iterated local search at most (the budget of pair reads
/// usually ends them first on large instances).
const RESTARTS: usize = 200;

impl Walk {
    fn new(sites: &[usize], value: f64, maximise: bool) -> Walk {
        let mut w = Walk { seen: Default::default(), best: sites.to_vec(), best_value: value, maximise, stalled: 0 };
        w.seen.insert(Walk::key(sites));
        w
    }

    fn key(sites: &[usize]) -> Vec<usize> {
        let mut k = sites.to_vec();
        k.sort_unstable();
        k
    }

    /// The next swap (candidate in, slot out) among `moves` (gain, candidate, slot); none
    /// once `STALL` moves in a row found no better set.
    fn next_move(&mut self, sites: &[usize], moves: &mut [(f64, usize, usize)], eps: f64) -> Option<(usize, usize)> {
        if self.stalled >= STALL {
            return None;
        }
        moves.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let &(gain, k, s) = moves.first()?;
        if gain > eps {
            return Some((k, s));
        }
        moves
            .iter()
            .find(|(_, k, s)| {
                let mut next = sites.to_vec();
                next[*s] = *k;
                !self.seen.contains(&Walk::key(&next))
            })
            .map(|&(_, k, s)| (k, s))
    }

    fn record(&mut self, sites: &[usize], value: f64) {
        self.seen.insert(Walk::key(sites));
        let better = if self.maximise { value > self.best_value } else { value < self.best_value };
        if better {
            self.best = sites.to_vec();
            self.best_value = value;
            self.stalled = 0;
        } else {
            self.stalled += 1;
        }
    }
}

/// Rows of point indices, one per candidate, in one allocation.
struct Csr {
    offsets: Vec<usize>,
    items: Vec<u32>,
}

impl Csr {
    fn new<I: Iterator<Item = u32>>(rows: usize, row: impl Fn(usize) -> I) -> Csr {
        let mut offsets = Vec::with_capacity(rows + 1);
        let mut items = Vec::new();
        offsets.push(0);
        for j in 0..rows {
            items.extend(row(j));
            offsets.push(items.len());
        }
        Csr { offsets, items }
    }

    fn row(&self, j: usize) -> &[u32] {
        &self.items[self.offsets[j]..self.offsets[j + 1]]
    }
}

/// An `f64` ordered for the heap (gains are finite).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ordered(f64);

impl Eq for Ordered {}

impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A line of 6 points (weights 1..=6) at x = 0..5 and candidates at the same places.
    fn line() -> Instance {
        let cost: Vec<Vec<f64>> = (0..6).map(|i| (0..6).map(|j| (i as f64 - j as f64).abs()).collect()).collect();
        Instance::from_matrix((1..=6).map(f64::from).collect(), &cost).unwrap()
    }

    #[test]
    fn binomials() {
        assert_eq!(binomial(16, 4), 1820);
        assert_eq!(binomial(5, 0), 1);
        assert_eq!(binomial(3, 4), 0);
        assert_eq!(binomial(20_000, 50), u64::MAX);
    }

    #[test]
    fn small_models_by_hand() {
        let l = line();
        // One site covering radius 1: at x = 4 covers 4 + 5 + 6 = 15.
        let s = l.solve(Model::Mclp { p: 1, radius: 1.0 }, Limits::default()).unwrap();
        assert_eq!((s.sites.clone(), s.objective, s.exact), (vec![4], 15.0, true));
        // One median: the weighted median, x = 4 (cost 4·1 + 3·2 + 2·3 + 1·4 + 0 + 1·6 = 26).
        let s = l.solve(Model::PMedian { p: 1 }, Limits::default()).unwrap();
        assert_eq!((s.sites, s.objective), (vec![4], 26.0));
        // Covering all within 1: sites at 1 and 4.
        let s = l.solve(Model::SetCover { radius: 1.0 }, Limits::default()).unwrap();
        assert_eq!((s.sites, s.objective, s.exact), (vec![1, 4], 2.0, true));
    }

    #[test]
    fn heuristics_agree_with_enumeration_and_bound_it() {
        let l = line();
        let heuristic = Limits { enumerate: 0, ..Limits::default() };
        for p in 1..=3 {
            let exact = l.solve(Model::Mclp { p, radius: 1.0 }, Limits::default()).unwrap();
            let h = l.solve(Model::Mclp { p, radius: 1.0 }, heuristic).unwrap();
            assert!(!h.exact);
            assert_eq!(h.objective, exact.objective, "MCLP p = {p}");
            assert!(h.bound >= exact.objective);
            let exact = l.solve(Model::PMedian { p }, Limits::default()).unwrap();
            let h = l.solve(Model::PMedian { p }, heuristic).unwrap();
            assert_eq!(h.objective, exact.objective, "p-median p = {p}");
            assert!(h.bound <= exact.objective);
        }
        let h = l.solve(Model::SetCover { radius: 1.0 }, heuristic).unwrap();
        assert_eq!(h.objective, 2.0);
        assert!(h.bound <= 2.0);
    }

    #[test]
    fn bad_problems_say_what_limits_apply() {
        let l = line();
        let e = l.solve(Model::Mclp { p: 7, radius: 1.0 }, Limits::default()).unwrap_err().to_string();
        assert!(e.contains("between 1 and 6"), "{e}");
        let far = Instance::from_pairs(vec![1.0, 1.0], 1, [(0, 0, 0.5), (1, 0, 9.0)]).unwrap();
        let e = far.solve(Model::SetCover { radius: 1.0 }, Limits::default()).unwrap_err().to_string();
        assert!(e.contains("1 demand point(s) (1)") && e.contains("infeasible"), "{e}");
        let e = Instance::from_pairs(vec![1.0, -2.0], 1, []).unwrap_err().to_string();
        assert!(e.contains("demand point 1 has weight -2"), "{e}");
        let e = Instance::from_pairs(vec![1.0], 1, [(0, 3, 1.0)]).unwrap_err().to_string();
        assert!(e.contains("outside 1 demand points × 1 candidates"), "{e}");
    }
}
