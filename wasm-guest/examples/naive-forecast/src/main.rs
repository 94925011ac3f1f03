//! `naive-forecast`: a baseline forecaster for `gantry scale --predict --forecaster`,
//! serving the `scale.forecast` hook.
//!
//! It assumes the recent past repeats. The recent window is the last
//! `max(horizon_steps, 12)` samples (all of them when the series is shorter):
//!
//! - `p50_peak` is the highest load in the window;
//! - `p90_peak` widens it by the window's relative spread (standard deviation over mean),
//!   `p50 × (1 + spread)`, so a noisy load asks for more headroom than a steady one;
//! - `peak_at` is when that peak comes round again one window later, kept within the
//!   horizon.
//!
//! It is the baseline a learned model has to beat, and a forecaster a user can trust to
//! be simple: it never predicts less than what was just seen.

use std::process::ExitCode;

use gantry_plugin_sdk::HookError;
use gantry_plugin_sdk::forecast::{self, ForecastInput, ForecastOutput, Sample};

gantry_plugin_sdk::manifest!(include_str!("../plugin.toml"));

/// The shortest window, in samples: an hour of 5-minute samples.
const MIN_WINDOW: usize = 12;

const MODEL: &str = concat!("naive-forecast@", env!("CARGO_PKG_VERSION"));

fn main() -> ExitCode {
    gantry_plugin_sdk::serve_hooks(|hook, input| match hook {
        forecast::HOOK => input.handle(forecast),
        other => Err(HookError::unknown_hook(other)),
    })
}

fn forecast(input: ForecastInput) -> Result<ForecastOutput, HookError> {
    input.validate()?;
    let horizon = usize::try_from(input.horizon_steps).unwrap_or(usize::MAX);
    let len = horizon.max(MIN_WINDOW).min(input.series.len());
    let recent = &input.series[input.series.len() - len..];

    // The latest of equal maxima: the most recent evidence of the peak.
    let peak = recent
        .iter()
        .copied()
        .reduce(|best, s| if s.v >= best.v { s } else { best })
        .ok_or_else(|| HookError::new("the series is empty: there is nothing to forecast from"))?;
    let n = recent.len() as f64;
    let mean = recent.iter().map(|s| s.v / n).sum::<f64>();
    let variance = recent.iter().map(|s| (s.v - mean).powi(2) / n).sum::<f64>();
    let spread = if mean.abs() > f64::EPSILON {
        variance.sqrt() / mean.abs()
    } else {
        0.0
    };
    let p90 = peak.v + peak.v.abs() * spread;
    if !p90.is_finite() {
        return Err(HookError::new(
            "the series values are too large to forecast with 64-bit floats; scale them down",
        ));
    }
    Ok(ForecastOutput {
        p50_peak: peak.v,
        p90_peak: p90,
        peak_at: peak_at(peak, recent, input.interval_s, input.horizon_steps),
        model: MODEL.to_string(),
    })
}

/// The peak seen at `peak.t` recurs one window later; the answer stays within the
/// horizon, `(last, last + horizon × interval]`.
fn peak_at(peak: Sample, recent: &[Sample], interval_s: u64, horizon_steps: u64) -> i64 {
    let interval = i64::try_from(interval_s).unwrap_or(i64::MAX);
    let steps = |k: u64| interval.saturating_mul(i64::try_from(k).unwrap_or(i64::MAX));
    let last = recent.last().map_or(peak.t, |s| s.t);
    let again = peak.t.saturating_add(steps(recent.len() as u64));
    again.clamp(
        last.saturating_add(interval),
        last.saturating_add(steps(horizon_steps)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use gantry_plugin_sdk::Input;
    use serde_json::json;

    const T0: i64 = 1_700_000_000;

    fn series(values: &[f64], horizon_steps: u64) -> ForecastInput {
        ForecastInput {
            series: values
                .iter()
                .enumerate()
                .map(|(i, &v)| Sample {
                    t: T0 + 300 * i as i64,
                    v,
                })
                .collect(),
            interval_s: 300,
            horizon_steps,
        }
    }

    #[test]
    fn a_steady_load_forecasts_itself() {
        let out = forecast(series(&[40.0; 48], 12)).unwrap();
        assert_eq!(out.p50_peak, 40.0);
        assert_eq!(out.p90_peak, 40.0);
        assert_eq!(out.model, "naive-forecast@0.1.0");
    }

    #[test]
    fn the_peak_comes_from_the_recent_window_only() {
        // An old spike, then a recent window of 12 samples whose top is 30.
        let mut values = vec![500.0];
        values.extend([10.0; 11]);
        values.extend([
            20.0, 25.0, 30.0, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0,
        ]);
        let out = forecast(series(&values, 6)).unwrap();
        assert_eq!(out.p50_peak, 30.0);
        // mean 21.25, population std ≈ 2.5 → spread ≈ 0.118.
        let mean: f64 = values[12..].iter().sum::<f64>() / 12.0;
        let std = (values[12..].iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 12.0).sqrt();
        assert!(
            (out.p90_peak - 30.0 * (1.0 + std / mean)).abs() < 1e-9,
            "{out:?}"
        );
        assert!(out.p90_peak > out.p50_peak);
    }

    #[test]
    fn a_noisier_load_gets_more_headroom() {
        let steady = forecast(series(&[9.0, 10.0, 11.0, 10.0].repeat(6), 12)).unwrap();
        let noisy = forecast(series(&[2.0, 10.0, 18.0, 10.0].repeat(6), 12)).unwrap();
        let headroom = |o: &ForecastOutput| o.p90_peak / o.p50_peak;
        assert!(headroom(&noisy) > headroom(&steady), "{steady:?} {noisy:?}");
    }

    #[test]
    fn the_peak_recurs_one_window_later_within_the_horizon() {
        // Daily-like cycle of 12 samples with its top at index 5 of the last window.
        let cycle = [1.0, 2.0, 3.0, 4.0, 5.0, 9.0, 5.0, 4.0, 3.0, 2.0, 1.0, 1.0];
        let values = cycle.repeat(3);
        let out = forecast(series(&values, 12)).unwrap();
        let t_peak = T0 + 300 * (24 + 5);
        assert_eq!(out.peak_at, t_peak + 300 * 12);

        // A horizon shorter than the wait is clamped to its end.
        let short = forecast(series(&values, 2)).unwrap();
        let last = T0 + 300 * 35;
        assert_eq!(short.peak_at, last + 600);
    }

    #[test]
    fn a_short_series_uses_what_there_is() {
        let out = forecast(series(&[3.0], 4)).unwrap();
        assert_eq!((out.p50_peak, out.p90_peak), (3.0, 3.0));
        assert_eq!(out.peak_at, T0 + 300);
    }

    #[test]
    fn huge_values_are_an_error_not_infinity() {
        let err = forecast(series(&[f64::MAX, f64::MAX / 2.0, 0.0], 3)).unwrap_err();
        assert!(err.message().contains("too large"), "{err}");
    }

    #[test]
    fn answers_the_hook_end_to_end() {
        let request = json!({
            "api": 1,
            "hook": "scale.forecast",
            "input": { "series": [{"t": T0, "v": 5.0}, {"t": T0 + 60, "v": 7.0}],
                       "interval_s": 60, "horizon_steps": 10 }
        });
        let mut out = Vec::new();
        let code = gantry_plugin_sdk::serve(
            forecast::HOOK,
            request.to_string().as_bytes(),
            &mut out,
            |hook, input| match hook {
                forecast::HOOK => input.handle(forecast),
                other => Err(HookError::unknown_hook(other)),
            },
        );
        assert_eq!(code, ExitCode::SUCCESS);
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["output"]["p50_peak"], 7.0);
        assert_eq!(doc["output"]["peak_at"], T0 + 60 + 120);
        assert_eq!(doc["output"]["model"], "naive-forecast@0.1.0");
    }

    #[test]
    fn refuses_invalid_input() {
        let input = Input::new(json!({"series": [], "interval_s": 300, "horizon_steps": 1}));
        let err = input.handle(forecast).unwrap_err();
        assert!(err.message().contains("empty"), "{err}");
    }
}
