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

impl ForecastOutput {
    /// What breaks the contract in this answer to `input`, one sentence per problem
    /// (empty when it keeps it): `p50_peak` and `p90_peak` finite with
    /// `p50_peak <= p90_peak`, `peak_at` inside the horizon (after the last sample and
    /// at most `horizon_steps` intervals later), and `model` of the form `NAME@VERSION`.
    ///
    /// `gantry plugin test` runs these checks on a plugin's answer; a plugin's own unit
    /// tests can run them too.
    pub fn violations(&self, input: &ForecastInput) -> Vec<String> {
        let mut found = quantile_violations("", self.p50_peak, self.p90_peak);
        if let Some(last) = input.series.last() {
            let horizon_s = input.interval_s.saturating_mul(input.horizon_steps);
            let end = last
                .t
                .saturating_add(i64::try_from(horizon_s).unwrap_or(i64::MAX));
            if self.peak_at <= last.t || self.peak_at > end {
                found.push(format!(
                    "peak_at {} is outside the horizon: it must be after the last sample \
                     (t={}) and at most {} steps of {} s later (t={end})",
                    self.peak_at, last.t, input.horizon_steps, input.interval_s
                ));
            }
        }
        found.extend(model_violation(&self.model));
        found
    }
}

/// `p50` and `p90` finite with `p50 <= p90`; `at` names the origin in a batch.
fn quantile_violations(at: &str, p50: f64, p90: f64) -> Vec<String> {
    let mut found = Vec::new();
    for (name, value) in [("p50_peak", p50), ("p90_peak", p90)] {
        if !value.is_finite() {
            found.push(format!("{name}{at} is {value}, not a finite number"));
        }
    }
    if found.is_empty() && p50 > p90 {
        found.push(format!(
            "p50_peak{at} ({p50}) is above p90_peak{at} ({p90}); the p90 must be at least the p50"
        ));
    }
    found
}

fn model_violation(model: &str) -> Option<String> {
    match model.split_once('@') {
        Some((name, version)) if !name.is_empty() && !version.is_empty() => None,
        _ => Some(format!("model {model:?} is not of the form NAME@VERSION")),
    }
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

impl BatchOutput {
    /// What breaks the contract in this answer to `input`, one sentence per problem
    /// (empty when it keeps it): one p50 and one p90 per origin, each pair finite with
    /// p50 <= p90, and `model` of the form `NAME@VERSION`.
    pub fn violations(&self, input: &BatchInput) -> Vec<String> {
        let asked = input.origins.len();
        if self.p50.len() != asked || self.p90.len() != asked {
            return vec![format!(
                "{asked} origins were asked and {} p50 and {} p90 values answered",
                self.p50.len(),
                self.p90.len()
            )];
        }
        let mut found: Vec<String> = self
            .p50
            .iter()
            .zip(&self.p90)
            .zip(&input.origins)
            .flat_map(|((&p50, &p90), origin)| {
                quantile_violations(&format!(" at origin {origin}"), p50, p90)
            })
            .collect();
        found.extend(model_violation(&self.model));
        found
    }
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
    fn violations_name_each_broken_rule() {
        let req = input(&[(1_000, 1.0), (1_300, 2.0)]);
        let answer = |p50_peak: f64, p90_peak: f64, peak_at: i64, model: &str| ForecastOutput {
            p50_peak,
            p90_peak,
            peak_at,
            model: model.into(),
        };
        // The horizon is 12 steps of 300 s after t=1300: (1300, 4900].
        assert!(answer(2.0, 3.0, 4_900, "m@1").violations(&req).is_empty());
        assert!(answer(2.0, 2.0, 1_600, "m@1").violations(&req).is_empty());
        let cases = [
            (
                answer(3.0, 2.0, 1_600, "m@1"),
                "p50_peak (3) is above p90_peak (2)",
            ),
            (answer(f64::NAN, 2.0, 1_600, "m@1"), "p50_peak is NaN"),
            (answer(1.0, f64::INFINITY, 1_600, "m@1"), "p90_peak is inf"),
            (answer(1.0, 2.0, 1_300, "m@1"), "peak_at 1300 is outside"),
            (answer(1.0, 2.0, 4_901, "m@1"), "peak_at 4901 is outside"),
            (answer(1.0, 2.0, 1_600, "m"), "not of the form NAME@VERSION"),
        ];
        for (case, expected) in cases {
            let found = case.violations(&req);
            assert_eq!(found.len(), 1, "{case:?}: {found:?}");
            assert!(found[0].contains(expected), "{case:?}: {found:?}");
        }
    }

    #[test]
    fn batch_violations_name_the_origin() {
        let req = BatchInput {
            values: vec![1.0, 2.0, 3.0],
            horizon_steps: 1,
            origins: vec![1, 2],
        };
        let answer = |p50: Vec<f64>, p90: Vec<f64>| BatchOutput {
            p50,
            p90,
            model: "m@1".into(),
        };
        assert!(
            answer(vec![1.0, 2.0], vec![1.0, 3.0])
                .violations(&req)
                .is_empty()
        );
        assert_eq!(
            answer(vec![1.0, 4.0], vec![1.0, 3.0]).violations(&req),
            [
                "p50_peak at origin 2 (4) is above p90_peak at origin 2 (3); the p90 must be at least the p50"
            ]
        );
        assert!(answer(vec![1.0], vec![1.0]).violations(&req)[0].contains("2 origins were asked"));
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
