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
    /// Passes of the swap local search at most.
    pub swap_passes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { enumerate: 2_000_000, swap_passes: 50 }
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
        let mut hit = vec![false; self.points()];
        for &j in sites {
            for i in self.covers(j, radius) {
                hit[i] = true;
            }
        }
        hit.iter().zip(&self.weights).filter(|(h, _)| **h).map(|(_, w)| w).sum()
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
        let cover: Vec<Vec<usize>> = (0..n).map(|j| self.covers(j, radius).collect()).collect();
        // How many open sites cover each point.
        let mut count = vec![0u32; self.points()];
        let gain = |j: usize, count: &[u32]| {
            cover[j].iter().filter(|&&i| count[i] == 0).map(|&i| self.weights[i]).sum::<f64>()
        };
        // Lazy greedy: gains only shrink as sites open (submodularity).
        let mut heap: BinaryHeap<(Ordered, std::cmp::Reverse<usize>)> =
            (0..n).map(|j| (Ordered(gain(j, &count)), std::cmp::Reverse(j))).collect();
        let mut open = vec![false; n];
        let mut sites = Vec::with_capacity(p);
        while sites.len() < p {
            let Some((Ordered(g), std::cmp::Reverse(j))) = heap.pop() else { break };
            let fresh = gain(j, &count);
            if fresh + 1e-12 < g && heap.peek().is_some_and(|(Ordered(next), _)| fresh < *next) {
                heap.push((Ordered(fresh), std::cmp::Reverse(j)));
                continue;
            }
            open[j] = true;
            sites.push(j);
            for &i in &cover[j] {
                count[i] += 1;
            }
        }
        // Swap local search: replace an open site by a closed one while coverage grows.
        let mut work = 0u64;
        for _ in 0..limits.swap_passes {
            let mut improved = false;
            for slot in sites.iter_mut() {
                let out = *slot;
                // Demand lost if `out` closes: points only it covers.
                let mut only = vec![false; self.points()];
                let mut loss = 0.0;
                for &i in &cover[out] {
                    if count[i] == 1 {
                        only[i] = true;
                        loss += self.weights[i];
                    }
                }
                let mut best: Option<(usize, f64)> = None;
                for k in (0..n).filter(|&k| !open[k]) {
                    work += 1;
                    let add: f64 =
                        cover[k].iter().filter(|&&i| count[i] == 0 || only[i]).map(|&i| self.weights[i]).sum();
                    if add - loss > 1e-9 && best.is_none_or(|(_, b)| add - loss > b) {
                        best = Some((k, add - loss));
                    }
                }
                if let Some((k, _)) = best {
                    for &i in &cover[out] {
                        count[i] -= 1;
                    }
                    for &i in &cover[k] {
                        count[i] += 1;
                    }
                    open[out] = false;
                    open[k] = true;
                    *slot = k;
                    improved = true;
                }
            }
            if !improved {
                break;
            }
        }
        let objective: f64 = count.iter().zip(&self.weights).filter(|(c, _)| **c > 0).map(|(_, w)| w).sum();
        let mut gains: Vec<f64> = (0..n).filter(|&k| !open[k]).map(|k| gain(k, &count)).collect();
        gains.sort_unstable_by(|a, b| b.total_cmp(a));
        let bound = (objective + gains.iter().take(p).sum::<f64>()).min(self.weights.iter().sum());
        sites.sort_unstable();
        Solution { sites, objective, bound, exact: false, work }
    }

    fn pmedian_heuristic(&self, p: usize, limits: Limits) -> Solution {
        let n = self.candidates();
        // Greedy: add the site that lowers the total cost most.
        let mut best = vec![f64::INFINITY; self.points()];
        let mut open = vec![false; n];
        let mut sites = Vec::with_capacity(p);
        let total = |best: &[f64]| -> f64 {
            best.iter().zip(&self.weights).map(|(c, w)| if *w == 0.0 { 0.0 } else { c * w }).sum()
        };
        for _ in 0..p {
            let mut choice: Option<(usize, f64)> = None;
            for k in (0..n).filter(|&k| !open[k]) {
                let mut t = best.clone();
                for &(i, c) in &self.reach[k] {
                    t[i as usize] = t[i as usize].min(c);
                }
                let v = total(&t);
                if choice.is_none_or(|(_, b)| v < b) {
                    choice = Some((k, v));
                }
            }
            let Some((k, _)) = choice else { break };
            open[k] = true;
            sites.push(k);
            for &(i, c) in &self.reach[k] {
                best[i as usize] = best[i as usize].min(c);
            }
        }
        // Vertex substitution (Teitz & Bart): the best swap each pass; when none improves,
        // the best one to a set not seen before (a plateau or a small climb), so the
        // search can leave a local optimum; the best set seen is kept.
        let mut value = self.median_cost(&sites);
        let (mut best_sites, mut best_value) = (sites.clone(), value);
        let mut seen = std::collections::HashSet::new();
        let key = |s: &[usize]| {
            let mut k = s.to_vec();
            k.sort_unstable();
            k
        };
        seen.insert(key(&sites));
        let mut work = 0u64;
        for _ in 0..limits.swap_passes {
            let mut choice: Option<(usize, usize, f64)> = None;
            for si in 0..sites.len() {
                for k in (0..n).filter(|&k| !open[k]) {
                    work += 1;
                    let mut trial = sites.clone();
                    trial[si] = k;
                    let v = self.median_cost(&trial);
                    if choice.is_none_or(|(_, _, b)| v < b) && (v + 1e-9 < value || !seen.contains(&key(&trial))) {
                        choice = Some((si, k, v));
                    }
                }
            }
            let Some((si, k, v)) = choice else { break };
            open[sites[si]] = false;
            open[k] = true;
            sites[si] = k;
            value = v;
            seen.insert(key(&sites));
            if value + 1e-9 < best_value {
                (best_sites, best_value) = (sites.clone(), value);
            } else if value > best_value * 1.05 {
                break;
            }
        }
        let (mut sites, value) = (best_sites, best_value);
        let all: Vec<usize> = (0..n).collect();
        let bound = self.median_cost(&all);
        sites.sort_unstable();
        Solution { sites, objective: value, bound, exact: false, work }
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
        let heuristic = Limits { enumerate: 0, swap_passes: 50 };
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
