//! Rolling-origin backtests: forecast from every origin in the last 20% of a series (or
//! its last N origins), compare with the peak that followed, and summarise each method
//! on the same points.

use serde::Serialize;

use crate::baselines::Baseline;
use crate::calibrate::quantile_in_place;

/// The share of the series, at its end, whose origins are evaluated.
pub const HOLDOUT: f64 = 0.2;
/// The quantile the p90 forecasts aim at.
pub const UPPER_QUANTILE: f64 = 0.9;

/// Where the backtest starts and which origins it evaluates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Origins `i`: forecast the peak of `values[i..i + horizon]` from `values[..i]`.
    pub origins: Vec<usize>,
    /// The first evaluated origin; baselines calibrate on targets before it.
    pub start: usize,
}

impl Plan {
    pub fn last(&self) -> usize {
        self.origins.last().copied().unwrap_or(self.start)
    }
}

/// The origins of a rolling-origin backtest over the last [`HOLDOUT`] of `n` samples, or
/// over the last `last` origins, or `None` when the series is too short to hold one.
pub fn plan(n: usize, horizon: usize, min_history: usize, last: Option<usize>) -> Option<Plan> {
    let end = n.checked_sub(horizon)?;
    let start = match last {
        Some(count) => (end + 1).saturating_sub(count.max(1)),
        None => n - ((n as f64) * HOLDOUT).floor() as usize,
    }
    .max(min_history);
    if start > end {
        return None;
    }
    Some(Plan {
        origins: (start..=end).collect(),
        start,
    })
}

/// The fewest samples [`plan`] accepts, with the default hold-out.
pub fn least_samples(horizon: usize, min_history: usize) -> usize {
    (min_history + horizon..)
        .find(|&n| plan(n, horizon, min_history, None).is_some())
        .unwrap_or(usize::MAX)
}

/// The peak that followed each origin.
pub fn actual_peaks(values: &[f64], origins: &[usize], horizon: usize) -> Vec<f64> {
    origins
        .iter()
        .map(|&i| {
            values[i..i + horizon]
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect()
}

/// The quality of one method's forecasts on the backtest's points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub method: String,
    /// Weighted absolute percentage error of p50: sum |actual - p50| / sum |actual|.
    pub wape: f64,
    /// Mean absolute error of p50, in the series' units.
    pub mae: f64,
    /// Share of points whose actual peak exceeded p90 (aim: about 0.10).
    pub under_provisioning_rate: f64,
    /// Mean of max(p90 - actual, 0): capacity held beyond the peak, in the series' units.
    pub over_provisioning_mean: f64,
    /// The same as a share of the mean actual peak.
    pub over_provisioning_ratio: f64,
}

pub fn metrics(method: &str, actual: &[f64], p50: &[f64], p90: &[f64]) -> Metrics {
    let n = actual.len().max(1) as f64;
    let abs_err: f64 = actual.iter().zip(p50).map(|(a, f)| (a - f).abs()).sum();
    let abs_actual: f64 = actual.iter().map(|a| a.abs()).sum();
    let under = actual.iter().zip(p90).filter(|(a, f)| a > f).count() as f64;
    let over: f64 = actual.iter().zip(p90).map(|(a, f)| (f - a).max(0.0)).sum();
    let mean_actual = abs_actual / n;
    Metrics {
        method: method.to_string(),
        wape: if abs_actual > 0.0 {
            abs_err / abs_actual
        } else {
            0.0
        },
        mae: abs_err / n,
        under_provisioning_rate: under / n,
        over_provisioning_mean: over / n,
        over_provisioning_ratio: if mean_actual > 0.0 {
            over / n / mean_actual
        } else {
            0.0
        },
    }
}

/// A baseline's p50 (its point forecast) and p90 (the point forecast plus the 90th
/// percentile of its errors on origins whose targets end before the backtest starts).
pub fn baseline_quantiles(
    baseline: Baseline,
    values: &[f64],
    plan: &Plan,
    horizon: usize,
    season: usize,
    min_history: usize,
) -> (Vec<f64>, Vec<f64>) {
    let calibration: Vec<usize> =
        (min_history.max(1)..=plan.start.saturating_sub(horizon)).collect();
    let margin = if calibration.is_empty() {
        0.0
    } else {
        let fitted = baseline.peaks(values, &calibration, horizon, season, plan.start);
        let actual = actual_peaks(values, &calibration, horizon);
        let mut residuals: Vec<f64> = actual.iter().zip(&fitted).map(|(a, f)| a - f).collect();
        quantile_in_place(&mut residuals, UPPER_QUANTILE).max(0.0)
    };
    let p50 = baseline.peaks(values, &plan.origins, horizon, season, plan.start);
    let p90 = p50.iter().map(|p| p + margin).collect();
    (p50, p90)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_covers_the_last_fifth_or_the_last_n() {
        let p = plan(100, 5, 10, None).unwrap();
        assert_eq!(p.start, 80);
        assert_eq!(p.origins.first(), Some(&80));
        assert_eq!(p.last(), 95);
        assert_eq!(plan(10, 5, 10, None), None);
        let p = plan(100, 5, 10, Some(3)).unwrap();
        assert_eq!(p.origins, vec![93, 94, 95]);
        assert_eq!(plan(100, 5, 10, Some(1000)).unwrap().start, 10);
        assert_eq!(least_samples(12, 24), 60);
    }

    #[test]
    fn metrics_by_hand() {
        let m = metrics("x", &[10.0, 20.0], &[12.0, 18.0], &[15.0, 19.0]);
        assert!((m.wape - 4.0 / 30.0).abs() < 1e-12);
        assert!((m.mae - 2.0).abs() < 1e-12);
        assert!((m.under_provisioning_rate - 0.5).abs() < 1e-12);
        assert!((m.over_provisioning_mean - 2.5).abs() < 1e-12);
        assert!((m.over_provisioning_ratio - 2.5 / 15.0).abs() < 1e-12);
    }

    #[test]
    fn window_max_p90_covers_its_own_calibration_errors() {
        // A sawtooth: the window max over 2 samples misses the next peak by at most 1.
        let values: Vec<f64> = (0..200).map(|i| (i % 5) as f64).collect();
        let plan = plan(values.len(), 2, 10, None).unwrap();
        let (p50, p90) = baseline_quantiles(Baseline::WindowMax, &values, &plan, 2, 1, 10);
        let actual = actual_peaks(&values, &plan.origins, 2);
        let m = metrics("window-max", &actual, &p50, &p90);
        assert!(m.under_provisioning_rate <= 0.25, "{m:?}");
    }
}
