//! Types of the `scale.forecast` hook, which `gantry scale --predict --forecaster PLUGIN`
//! calls: a load series in, the expected peak over the horizon out.

use serde::{Deserialize, Serialize};

use crate::HookError;

/// The hook's name, as listed under `[provides] hooks` in the manifest.
pub const HOOK: &str = "scale.forecast";

/// One observation: a Unix time in seconds and the load measured then.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub t: i64,
    pub v: f64,
}

/// `{"series":[{"t":UNIX_S,"v":F64}...],"interval_s":N,"horizon_steps":N}`: the recent
/// load, oldest first, sampled every `interval_s` seconds; forecast the next
/// `horizon_steps` samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastInput {
    pub series: Vec<Sample>,
    pub interval_s: u64,
    pub horizon_steps: u64,
}

impl ForecastInput {
    /// Checks what every forecaster relies on: at least one sample, finite values, times
    /// strictly increasing, and a non-zero interval and horizon.
    pub fn validate(&self) -> Result<(), HookError> {
        if self.series.is_empty() {
            return Err(HookError::new(
                "the series is empty: there is nothing to forecast from",
            ));
        }
        if self.interval_s == 0 || self.horizon_steps == 0 {
            return Err(HookError::new(
                "interval_s and horizon_steps must be at least 1",
            ));
        }
        if let Some(bad) = self.series.iter().find(|s| !s.v.is_finite()) {
            return Err(HookError::new(format!(
                "the sample at t={} is not a finite number",
                bad.t
            )));
        }
        if let Some(pair) = self.series.windows(2).find(|pair| pair[0].t >= pair[1].t) {
            return Err(HookError::new(format!(
                "the series must be in increasing time order, but t={} comes after t={}",
                pair[1].t, pair[0].t
            )));
        }
        Ok(())
    }
}

/// `{"p50_peak":F64,"p90_peak":F64,"peak_at":UNIX_S,"model":"NAME@VERSION"}`: the peak
/// load over the horizon at the median and at the 90th percentile, when it is expected,
/// and which model said so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastOutput {
    pub p50_peak: f64,
    pub p90_peak: f64,
    pub peak_at: i64,
    pub model: String,
}

/// The optional batch hook: forecasts from many origins of one series in one call.
/// gantry calibrates a forecaster on the series' own recent history, which takes its
/// forecasts at hundreds of past origins; a plugin that serves this hook answers them
/// in one sandbox run, and one that does not is called once per origin (on fewer
/// origins).
pub const BATCH_HOOK: &str = "forecast.batch";

/// `{"values":[F64...],"horizon_steps":N,"origins":[I...]}`: origin `i` asks for the
/// peak of `values[i..i + horizon_steps]` forecast from `values[..i]`. The values are
/// regularly spaced, oldest first, and may be only the tail of the series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchInput {
    pub values: Vec<f64>,
    pub horizon_steps: u64,
    pub origins: Vec<u64>,
}

/// `{"p50":[F64...],"p90":[F64...],"model":"NAME@VERSION"}`, one value per origin, in
/// the order asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchOutput {
    pub p50: Vec<f64>,
    pub p90: Vec<f64>,
    pub model: String,
}

/// When in the next `horizon` steps the peak is expected, in steps after the last of
/// `values` (1-based): where the same stretch one `season` earlier peaked (the first of
/// equal maxima), or the end of the horizon when the history is shorter than a season.
pub fn peak_offset(values: &[f64], horizon: usize, season: usize) -> usize {
    let n = values.len();
    if horizon == 0 || season == 0 || n < season {
        return horizon;
    }
    let start = n - season;
    values[start..(start + horizon).min(n)]
        .iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(series: &[(i64, f64)]) -> ForecastInput {
        ForecastInput {
            series: series.iter().map(|&(t, v)| Sample { t, v }).collect(),
            interval_s: 300,
            horizon_steps: 12,
        }
    }

    #[test]
    fn parses_the_contract_shape() {
        let text = r#"{"series":[{"t":1700000000,"v":1.5},{"t":1700000300,"v":2}],
                       "interval_s":300,"horizon_steps":12,"extra":"ignored"}"#;
        let parsed: ForecastInput = serde_json::from_str(text).unwrap();
        assert_eq!(parsed, input(&[(1_700_000_000, 1.5), (1_700_000_300, 2.0)]));
        assert_eq!(parsed.validate(), Ok(()));
    }

    #[test]
    fn writes_the_contract_shape() {
        let out = ForecastOutput {
            p50_peak: 10.0,
            p90_peak: 12.5,
            peak_at: 1_700_003_600,
            model: "m@1.0.0".into(),
        };
        assert_eq!(
            serde_json::to_value(&out).unwrap(),
            serde_json::json!({"p50_peak":10.0,"p90_peak":12.5,"peak_at":1700003600,"model":"m@1.0.0"})
        );
    }

    #[test]
    fn validation_names_the_problem() {
        let cases = [
            (input(&[]), "empty"),
            (input(&[(1, 1.0), (1, 2.0)]), "increasing time order"),
            (input(&[(1, 1.0), (2, f64::NAN)]), "t=2 is not a finite"),
            (
                ForecastInput {
                    interval_s: 0,
                    ..input(&[(1, 1.0)])
                },
                "at least 1",
            ),
            (
                ForecastInput {
                    horizon_steps: 0,
                    ..input(&[(1, 1.0)])
                },
                "at least 1",
            ),
        ];
        for (case, expected) in cases {
            let err = case.validate().unwrap_err();
            assert!(err.message().contains(expected), "{case:?}: {err}");
        }
    }

    #[test]
    fn peak_offset_follows_the_previous_season() {
        // A season of 6 steps whose peak is at its 3rd step: after 2 whole seasons, the
        // next peak is 3 steps ahead.
        let season = [1.0, 2.0, 9.0, 2.0, 1.0, 0.0];
        let values: Vec<f64> = season.iter().chain(&season).copied().collect();
        assert_eq!(peak_offset(&values, 4, 6), 3);
        // A horizon that ends before the seasonal peak: its highest step.
        assert_eq!(peak_offset(&values, 2, 6), 2);
        // A horizon longer than the season still reads only the last season.
        assert_eq!(peak_offset(&values, 10, 6), 3);
        // Ties: the first maximum.
        assert_eq!(peak_offset(&[5.0, 5.0, 1.0], 3, 3), 1);
        // No full season of history: the end of the horizon.
        assert_eq!(peak_offset(&values[..5], 4, 6), 4);
        assert_eq!(peak_offset(&values, 4, 0), 4);
    }

    #[test]
    fn batch_types_have_the_documented_shape() {
        let input: BatchInput =
            serde_json::from_str(r#"{"values":[1,2.5],"horizon_steps":3,"origins":[1,2]}"#)
                .unwrap();
        assert_eq!(input.origins, vec![1, 2]);
        let out = BatchOutput {
            p50: vec![1.0],
            p90: vec![2.0],
            model: "m@1".into(),
        };
        assert_eq!(
            serde_json::to_value(&out).unwrap(),
            serde_json::json!({"p50":[1.0],"p90":[2.0],"model":"m@1"})
        );
    }
}
