//! Exponential smoothing for monthly series (requests, waiting-list length): additive
//! Holt-Winters, ETS(A,A,A) in the notation of Hyndman et al. (2008), with prediction
//! intervals and a back-test on held-out months.
//!
//! ```text
//!  ℓ_t = ℓ_{t-1} + b_{t-1} + α e_t        e_t = y_t − (ℓ_{t-1} + b_{t-1} + s_{t-m})
//!  b_t = b_{t-1} + β e_t
//!  s_t = s_{t-m} + γ e_t
//!  ŷ_{t+h} = ℓ_t + h b_t + s_{t+h-m(k+1)}
//!  var_h = σ² (1 + Σ_{j=1}^{h-1} (α + β j + γ [j mod m = 0])²)
//! ```
//!
//! Parameters minimise the in-sample sum of squared one-step errors (a coarse grid, then
//! coordinate refinement), with 0 < α < 1, 0 < β < α, 0 < γ < 1 − α. Initial states come
//! from the first two seasons (classical decomposition).

use crate::{Error, Result};

/// A monthly series read from the warehouse.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Monthly {
    /// The first month, `YYYY-MM`.
    pub start: String,
    /// One value per month from `start`, months with none counted 0.
    pub values: Vec<f64>,
}

/// Case files opened per month (in an area di utenza, or all), from the warehouse's
/// `cases` table, up to the month before `(year, month)` (the current one is not over).
pub async fn monthly_cases(
    ctx: &datafusion::prelude::SessionContext,
    area: Option<&str>,
    before: (i32, u32),
) -> Result<Monthly> {
    if !ctx.table_exist("cases")? {
        return Err(Error::Invalid("the warehouse has no cases table; load the case files first".into()));
    }
    let filter = area.map(|a| format!(" WHERE area_utenza = '{}'", a.replace('\'', "''"))).unwrap_or_default();
    let sql = format!(
        "SELECT CAST(date_part('year', opened_on) AS BIGINT) * 12 + CAST(date_part('month', opened_on) AS BIGINT) - 1, \
         count(*) FROM cases{filter} GROUP BY 1 ORDER BY 1"
    );
    let batches = crate::territory::batches(ctx, &sql).await?;
    let end = i64::from(before.0) * 12 + i64::from(before.1) - 1;
    let mut by: std::collections::BTreeMap<i64, f64> = std::collections::BTreeMap::new();
    for b in &batches {
        let (k, n) = (crate::i64s(b, 0)?, crate::i64s(b, 1)?);
        for i in 0..b.num_rows() {
            if k.value(i) < end {
                by.insert(k.value(i), n.value(i) as f64);
            }
        }
    }
    let (Some(first), Some(last)) = (by.keys().next().copied(), by.keys().next_back().copied()) else {
        return Err(Error::Invalid(format!(
            "no case files{} in the warehouse",
            area.map(|a| format!(" in area {a}")).unwrap_or_default()
        )));
    };
    Ok(Monthly {
        start: format!("{:04}-{:02}", first / 12, first % 12 + 1),
        values: (first..=last).map(|k| by.get(&k).copied().unwrap_or(0.0)).collect(),
    })
}

/// A fitted model.
#[derive(Debug, Clone, PartialEq)]
pub struct HoltWinters {
    /// Level smoothing.
    pub alpha: f64,
    /// Trend smoothing (ETS form: β = α β*).
    pub beta: f64,
    /// Season smoothing.
    pub gamma: f64,
    /// Season length (12 for monthly data).
    pub period: usize,
    /// Variance of the one-step errors.
    pub sigma2: f64,
    level: f64,
    trend: f64,
    /// The last `period` seasonal states, oldest first.
    season: Vec<f64>,
}

/// One forecast step.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Step {
    /// Steps ahead (1 = next month).
    pub h: usize,
    /// The point forecast.
    pub mean: f64,
    /// Lower end of the prediction interval.
    pub lower: f64,
    /// Upper end.
    pub upper: f64,
}

/// How a model did on held-out months.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Backtest {
    /// Months held out.
    pub held_out: usize,
    /// Mean absolute error.
    pub mae: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Share of held-out values inside the prediction intervals.
    pub coverage: f64,
    /// The forecasts of the held-out months.
    pub steps: Vec<Step>,
}

/// The standard normal quantile for a two-sided interval (`level` = 0.8, 0.9, 0.95, 0.99).
fn z(level: f64) -> Result<f64> {
    match level {
        l if (l - 0.8).abs() < 1e-9 => Ok(1.281_551_565_545),
        l if (l - 0.9).abs() < 1e-9 => Ok(1.644_853_626_951),
        l if (l - 0.95).abs() < 1e-9 => Ok(1.959_963_984_540),
        l if (l - 0.99).abs() < 1e-9 => Ok(2.575_829_303_549),
        other => Err(Error::Invalid(format!("interval level {other}: use 0.8, 0.9, 0.95 or 0.99"))),
    }
}

struct Run {
    sse: f64,
    level: f64,
    trend: f64,
    season: Vec<f64>,
}

fn initial(y: &[f64], m: usize) -> (f64, f64, Vec<f64>) {
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let (first, second) = (mean(&y[..m]), mean(&y[m..2 * m]));
    let trend = (second - first) / m as f64;
    // Level at the start of the first season (so that season 1's fitted values centre on it).
    let level = first - trend * (m as f64 - 1.0) / 2.0;
    let season: Vec<f64> = (0..m)
        .map(|k| {
            let a = y[k] - (level + trend * k as f64);
            let b = y[m + k] - (level + trend * (m + k) as f64);
            (a + b) / 2.0
        })
        .collect();
    let centre = mean(&season);
    (level - trend, trend, season.iter().map(|s| s - centre).collect())
}

fn run(y: &[f64], m: usize, alpha: f64, beta: f64, gamma: f64) -> Run {
    let (mut level, mut trend, mut season) = initial(y, m);
    let mut sse = 0.0;
    for (t, &v) in y.iter().enumerate() {
        let s = season[t % m];
        let e = v - (level + trend + s);
        sse += e * e;
        let prev = level + trend;
        level = prev + alpha * e;
        trend += beta * e;
        season[t % m] = s + gamma * e;
    }
    // Rotate so that the oldest seasonal state comes first: the next period is y.len() % m.
    let k = y.len() % m;
    season.rotate_left(k);
    Run { sse, level, trend, season }
}

impl HoltWinters {
    /// Fits a series of at least two full seasons plus one value.
    pub fn fit(y: &[f64], period: usize) -> Result<HoltWinters> {
        if period < 2 {
            return Err(Error::Invalid(format!("season length {period}: use 2 or more (12 for months)")));
        }
        if y.len() < 2 * period + 1 {
            return Err(Error::Invalid(format!(
                "{} values: Holt-Winters with a season of {period} needs at least {}",
                y.len(),
                2 * period + 1
            )));
        }
        if let Some(i) = y.iter().position(|v| !v.is_finite()) {
            return Err(Error::Invalid(format!("value {i} of the series is {}", y[i])));
        }
        let feasible = |a: f64, b: f64, g: f64| a > 0.0 && a < 1.0 && b > 0.0 && b < a && g > 0.0 && g < 1.0 - a;
        let score =
            |a: f64, b: f64, g: f64| if feasible(a, b, g) { run(y, period, a, b, g).sse } else { f64::INFINITY };
        let mut best = (0.3, 0.01, 0.1, f64::INFINITY);
        for a in [0.05, 0.15, 0.3, 0.5, 0.7, 0.9] {
            for bf in [0.01, 0.05, 0.2, 0.5] {
                for gf in [0.01, 0.1, 0.3, 0.6, 0.9] {
                    let (b, g) = (a * bf, (1.0 - a) * gf);
                    let s = score(a, b, g);
                    if s < best.3 {
                        best = (a, b, g, s);
                    }
                }
            }
        }
        // Coordinate refinement with shrinking steps.
        let mut step = 0.1;
        while step > 1e-5 {
            let mut moved = false;
            for d in 0..3 {
                for sign in [-1.0, 1.0] {
                    let mut p = [best.0, best.1, best.2];
                    p[d] += sign * step * if d == 1 { p[0] } else { 1.0 };
                    let s = score(p[0], p[1], p[2]);
                    if s < best.3 {
                        best = (p[0], p[1], p[2], s);
                        moved = true;
                    }
                }
            }
            if !moved {
                step /= 2.0;
            }
        }
        let (alpha, beta, gamma, sse) = best;
        let r = run(y, period, alpha, beta, gamma);
        // Degrees of freedom: 3 parameters and 2 + m initial states.
        let dof = (y.len() as f64 - 5.0 - period as f64).max(1.0);
        Ok(HoltWinters {
            alpha,
            beta,
            gamma,
            period,
            sigma2: sse / dof,
            level: r.level,
            trend: r.trend,
            season: r.season,
        })
    }

    /// Forecasts `h` steps with prediction intervals at `level` (0.8, 0.9, 0.95, 0.99).
    pub fn forecast(&self, h: usize, level: f64) -> Result<Vec<Step>> {
        let z = z(level)?;
        let m = self.period;
        let mut var_sum = 0.0;
        Ok((1..=h)
            .map(|k| {
                if k > 1 {
                    let j = k - 1;
                    let c = self.alpha + self.beta * j as f64 + if j % m == 0 { self.gamma } else { 0.0 };
                    var_sum += c * c;
                }
                let mean = self.level + k as f64 * self.trend + self.season[(k - 1) % m];
                let half = z * (self.sigma2 * (1.0 + var_sum)).sqrt();
                Step { h: k, mean, lower: mean - half, upper: mean + half }
            })
            .collect())
    }

    /// Fits on all but the last `held_out` values and forecasts them.
    pub fn backtest(y: &[f64], period: usize, held_out: usize, level: f64) -> Result<Backtest> {
        if held_out == 0 || held_out >= y.len() {
            return Err(Error::Invalid(format!("hold out between 1 and {} values", y.len().saturating_sub(1))));
        }
        let (train, test) = y.split_at(y.len() - held_out);
        let steps = HoltWinters::fit(train, period)?.forecast(held_out, level)?;
        let n = held_out as f64;
        let mae = steps.iter().zip(test).map(|(s, v)| (s.mean - v).abs()).sum::<f64>() / n;
        let rmse = (steps.iter().zip(test).map(|(s, v)| (s.mean - v).powi(2)).sum::<f64>() / n).sqrt();
        let inside = steps.iter().zip(test).filter(|(s, v)| (s.lower..=s.upper).contains(v)).count();
        Ok(Backtest { held_out, mae, rmse, coverage: inside as f64 / n, steps })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A monthly series: level 100, trend +2 a month, a seasonal wave of ±15, and noise
    /// from a fixed linear congruential generator (σ ≈ 3).
    fn series(n: usize) -> Vec<f64> {
        let mut state: u64 = 42;
        let mut noise = || {
            // Sum of 12 uniforms − 6: approximately N(0, 1).
            (0..12)
                .map(|_| {
                    state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    (state >> 11) as f64 / (1u64 << 53) as f64
                })
                .sum::<f64>()
                - 6.0
        };
        (0..n)
            .map(|t| {
                100.0 + 2.0 * t as f64 + 15.0 * (2.0 * std::f64::consts::PI * t as f64 / 12.0).sin() + 3.0 * noise()
            })
            .collect()
    }

    #[test]
    fn a_noiseless_seasonal_trend_is_forecast_exactly() {
        let y: Vec<f64> = (0..48).map(|t| 50.0 + 1.5 * t as f64 + [5.0, -3.0, 0.0, -2.0][t % 4]).collect();
        let m = HoltWinters::fit(&y, 4).unwrap();
        let f = m.forecast(8, 0.95).unwrap();
        for s in &f {
            let t = 47 + s.h;
            let truth = 50.0 + 1.5 * t as f64 + [5.0, -3.0, 0.0, -2.0][t % 4];
            assert!((s.mean - truth).abs() < 1e-6, "h = {}: {} vs {truth}", s.h, s.mean);
        }
    }

    #[test]
    fn held_out_months_are_forecast_within_their_intervals() {
        let y = series(72);
        let b = HoltWinters::backtest(&y, 12, 12, 0.95).unwrap();
        // The noise has σ ≈ 3: errors of a good model are of that size.
        assert!(b.mae < 6.0 && b.rmse < 7.5, "MAE {} RMSE {}", b.mae, b.rmse);
        assert!(b.coverage >= 10.0 / 12.0, "coverage {}", b.coverage);
        // Intervals widen with the horizon.
        let w: Vec<f64> = b.steps.iter().map(|s| s.upper - s.lower).collect();
        assert!(w.windows(2).all(|p| p[1] >= p[0] - 1e-12));
        // A seasonal naive forecast (same month last year + a year's trend) does worse.
        let naive: f64 = (60..72).map(|t| (y[t - 12] + 24.0 - y[t]).abs()).sum::<f64>() / 12.0;
        assert!(b.mae < naive, "{} vs naive {naive}", b.mae);
    }

    #[test]
    fn short_or_bad_series_are_refused() {
        assert!(HoltWinters::fit(&[1.0; 24], 12).unwrap_err().to_string().contains("at least 25"));
        assert!(HoltWinters::fit(&[1.0; 30], 1).unwrap_err().to_string().contains("season length 1"));
        let mut y = series(40);
        y[7] = f64::NAN;
        assert!(HoltWinters::fit(&y, 12).unwrap_err().to_string().contains("value 7"));
        let m = HoltWinters::fit(&series(40), 12).unwrap();
        assert!(m.forecast(3, 0.5).unwrap_err().to_string().contains("0.8, 0.9, 0.95 or 0.99"));
    }
}
