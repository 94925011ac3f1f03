//! gantry's load forecasting, without a terminal.
//!
//! 1. Read a series from any reader ([`read_series`], or [`load`] for a path or `-`):
//!    CSV in the forms SREs export, or JSON, streamed in bounded memory; or ask
//!    Prometheus for it ([`prometheus::query_range`]).
//! 2. Ask a forecaster ([`PeakModel`]; [`PluginModel`] for any plugin serving
//!    `scale.forecast`, the bundled one by default) for the p50 and p90 of the peak over
//!    the horizon, calibrated on the series' own history ([`forecast`], see
//!    [`calibrate`]): the result carries `p50_peak`, `p90_peak`, `peak_at`, `model` and
//!    what the calibration chose.
//! 3. Measure it against naive baselines on the series' own past ([`backtest`]).
//!
//! ```no_run
//! # fn demo(host: &gantry_plugins::Host, plugin: &gantry_plugins::Plugin) -> Result<(), gantry_forecast::ForecastError> {
//! use gantry_forecast::{PluginModel, ReadOptions, Settings};
//! let options = ReadOptions { keep: Some(gantry_forecast::KEEP_FOR_FORECAST), ..ReadOptions::default() };
//! let loaded = gantry_forecast::load("metrics.csv".as_ref(), &options)?;
//! let model = PluginModel { host, plugin, opts: Default::default() };
//! let f = gantry_forecast::forecast(&model, &loaded.series, 12, &Settings::default())?;
//! println!("p90 peak {} at {} ({})", f.p90_peak, f.peak_at, f.model);
//! # Ok(()) }
//! ```

pub mod backtest;
pub mod baselines;
pub mod calibrate;
pub mod collect;
pub mod model;
pub mod prometheus;
pub mod read;
pub mod series;
pub mod time;

use gantry_plugins::PluginError;
use serde::Serialize;

pub use crate::backtest::Metrics;
use crate::baselines::Baseline;
pub use crate::calibrate::Settings;
use crate::calibrate::{Inputs, Step};
pub use crate::collect::Duplicates;
pub use crate::model::{ModelForecasts, PeakModel, PluginModel};
pub use crate::prometheus::{PrometheusError, RangeQuery};
pub use crate::read::{Column, Loaded, ReadOptions, SeriesError, load, read_series};
pub use crate::series::Series;

/// Horizons the bundled model was trained for, in steps.
pub const MAX_HORIZON: usize = 72;
/// The fewest samples a forecast reads from.
pub const MIN_SAMPLES: usize = 12;
/// The least history before an origin that a backtest evaluates.
pub const MIN_HISTORY: usize = 24;
/// Samples a forecast reads at most, the newest ones: the calibration's walk, a week of
/// history before it at intervals down to a minute, and the forecaster's context.
/// [`ReadOptions::keep`] set to this bounds a forecast's memory on any input.
pub const KEEP_FOR_FORECAST: usize = 16_384;

#[derive(Debug, thiserror::Error)]
pub enum ForecastError {
    #[error(transparent)]
    Series(#[from] SeriesError),
    #[error(
        "--horizon {0} is out of range; the bundled model forecasts 1 to {MAX_HORIZON} steps ahead"
    )]
    Horizon(usize),
    #[error(
        "{samples} samples are too few for {what} with a horizon of {horizon}; it needs {needed} (use a longer series or a shorter --horizon)"
    )]
    TooShort {
        what: &'static str,
        samples: usize,
        horizon: usize,
        needed: usize,
    },
    #[error(
        "{0} does not serve the forecast.batch hook, which a backtest needs to forecast from every origin in one run"
    )]
    NoBatch(String),
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error("the forecaster's answer is not what was asked for: {0}")]
    Answer(String),
}

/// One candidate of the p50 blend, as the forecast explains it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub method: String,
    pub weight: f64,
    /// Mean absolute error of its p50 on the origins the weights were computed on.
    pub recent_mae: f64,
}

/// How the forecast was calibrated on the series' history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    /// Past origins whose peaks were known and used; 0: not calibrated (too short),
    /// the forecaster's own p50 and p90 are the answer.
    pub known_origins: usize,
    /// The p50 blend, heaviest first.
    pub candidates: Vec<Candidate>,
    /// The quantile of the blend's recent residuals added to p50 for p90, and the
    /// amount added.
    pub p90_level: f64,
    pub p90_margin: f64,
    /// What the forecaster itself said.
    pub model_p50: f64,
    pub model_p90: f64,
}

/// The forecast for the `horizon_steps` after a series ends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    pub p50_peak: f64,
    pub p90_peak: f64,
    /// When the peak is expected: where the same stretch a day earlier peaked, or the
    /// end of the horizon without a day of history.
    pub peak_at: i64,
    /// The forecaster's `NAME@VERSION`.
    pub model: String,
    pub horizon_steps: usize,
    pub calibration: Calibration,
}

/// One backtest origin, as `gantry forecast --backtest -o json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// Unix time of the last sample the forecast saw.
    pub t: i64,
    pub actual_peak: f64,
    pub p50: f64,
    pub p90: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    pub model: String,
    pub horizon_steps: usize,
    /// The first evaluated origin's index in the series and the time of the sample
    /// before it.
    pub start_index: usize,
    pub start_t: i64,
    /// The calibrated forecast at every origin.
    pub points: Vec<Point>,
    /// The calibrated forecast first, then the forecaster's own answers, then every
    /// baseline, on the same points.
    pub summary: Vec<Metrics>,
}

fn check_horizon(horizon: usize) -> Result<(), ForecastError> {
    if horizon == 0 {
        return Err(ForecastError::Horizon(horizon));
    }
    Ok(())
}

/// The bundled model's range, which the CLI checks before running it.
pub fn check_bundled_horizon(horizon: usize) -> Result<(), ForecastError> {
    if horizon == 0 || horizon > MAX_HORIZON {
        return Err(ForecastError::Horizon(horizon));
    }
    Ok(())
}

/// The peak of `values[i..i + horizon]` after each origin, where the data holds it.
fn actual_peaks(values: &[f64], origins: &[usize], horizon: usize) -> Vec<Option<f64>> {
    origins
        .iter()
        .map(|&i| {
            values
                .get(i..i + horizon)
                .map(|w| w.iter().copied().fold(f64::NEG_INFINITY, f64::max))
        })
        .collect()
}

/// Each candidate's name and its p50 peak at every origin.
type NamedPeaks = Vec<(String, Vec<f64>)>;

/// Runs the forecaster and the calibration over `origins`.
fn calibrated(
    model: &dyn PeakModel,
    series: &Series,
    origins: &[usize],
    horizon: usize,
    settings: &Settings,
) -> Result<(ModelForecasts, NamedPeaks, Vec<Step>), ForecastError> {
    let answers = model.forecast_at(series, origins, horizon)?;
    if let Some(bad) = answers
        .p50
        .iter()
        .chain(&answers.p90)
        .find(|x| !x.is_finite())
    {
        return Err(ForecastError::Answer(format!(
            "{} forecast {bad}, not a finite number",
            answers.model
        )));
    }
    if let Some((p50, p90)) = answers
        .p50
        .iter()
        .zip(&answers.p90)
        .find(|(p50, p90)| p90 < p50)
    {
        return Err(ForecastError::Answer(format!(
            "{} forecast a p90 peak of {p90} below its p50 peak of {p50}; a p90 is never below the p50",
            answers.model
        )));
    }
    let values = &series.values;
    let day = series.day_steps();
    let mut candidates = vec![(answers.model.clone(), answers.p50.clone())];
    for baseline in Baseline::CANDIDATES {
        candidates.push((
            baseline.name().to_string(),
            baseline.peaks(values, origins, horizon, day, values.len()),
        ));
    }
    let actual = actual_peaks(values, origins, horizon);
    let steps = calibrate::walk(
        &Inputs {
            origins,
            horizon,
            model_p50: &answers.p50,
            model_p90: &answers.p90,
            candidates: &candidates,
            actual: &actual,
        },
        settings,
    );
    Ok((answers, candidates, steps))
}

/// `n` items of `origins` spread evenly, always keeping the last.
fn spread(origins: Vec<usize>, n: usize) -> Vec<usize> {
    if origins.len() <= n || n < 2 {
        return origins;
    }
    let last = origins.len() - 1;
    (0..n)
        .map(|k| origins[last - (n - 1 - k) * last / (n - 1)])
        .collect()
}

/// The calibrated p50 and p90 of the peak over the `horizon` steps after the series.
pub fn forecast(
    model: &dyn PeakModel,
    series: &Series,
    horizon: usize,
    settings: &Settings,
) -> Result<Forecast, ForecastError> {
    check_horizon(horizon)?;
    let n = series.len();
    if n < MIN_SAMPLES {
        return Err(ForecastError::TooShort {
            what: "a forecast",
            samples: n,
            horizon,
            needed: MIN_SAMPLES,
        });
    }
    let first = n.saturating_sub(settings.walk() + horizon).max(MIN_SAMPLES);
    let mut origins: Vec<usize> = (first..=n).collect();
    if let Some(budget) = model.origin_budget() {
        origins = spread(origins, budget);
    }
    let (answers, candidates, steps) = calibrated(model, series, &origins, horizon, settings)?;
    let step = steps
        .last()
        .ok_or_else(|| ForecastError::Answer("no origins".into()))?;
    let last = answers.p50.len() - 1;
    let mut blend: Vec<Candidate> = candidates
        .iter()
        .zip(step.weights.iter().zip(&step.losses))
        .map(|((name, _), (&weight, &recent_mae))| Candidate {
            method: name.clone(),
            weight,
            recent_mae,
        })
        .collect();
    blend.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    let offset =
        gantry_plugin_sdk::forecast::peak_offset(&series.values, horizon, series.day_steps());
    Ok(Forecast {
        p50_peak: step.p50,
        p90_peak: step.p90,
        peak_at: series
            .t(n - 1)
            .saturating_add(series.interval_s.saturating_mul(offset as i64)),
        model: answers.model.clone(),
        horizon_steps: horizon,
        calibration: Calibration {
            known_origins: if step.weights.is_empty() {
                0
            } else {
                step.known
            },
            candidates: blend,
            p90_level: step.level,
            p90_margin: step.margin,
            model_p50: answers.p50[last],
            model_p90: answers.p90[last],
        },
    })
}

/// Rolling-origin backtest over the last 20% of the series (or its last `last`
/// origins): the calibrated forecast, the forecaster's own and every baseline forecast
/// from each origin, and are scored on the peaks that followed.
pub fn backtest(
    model: &dyn PeakModel,
    series: &Series,
    horizon: usize,
    last: Option<usize>,
    settings: &Settings,
) -> Result<Backtest, ForecastError> {
    check_horizon(horizon)?;
    let values = &series.values;
    let plan = backtest::plan(values.len(), horizon, MIN_HISTORY, last).ok_or(
        ForecastError::TooShort {
            what: "a backtest",
            samples: values.len(),
            horizon,
            needed: backtest::least_samples(horizon, MIN_HISTORY),
        },
    )?;
    if model.origin_budget().is_some() {
        return Err(ForecastError::NoBatch("the forecaster".into()));
    }
    let first = plan.start.saturating_sub(settings.walk()).max(MIN_SAMPLES);
    let origins: Vec<usize> = (first..=plan.last()).collect();
    let (answers, _, steps) = calibrated(model, series, &origins, horizon, settings)?;
    let skip = plan.start - first;
    let actual: Vec<f64> = actual_peaks(values, &plan.origins, horizon)
        .into_iter()
        .map(|a| a.unwrap_or(f64::NAN))
        .collect();
    let steps = &steps[skip..];
    let p50: Vec<f64> = steps.iter().map(|s| s.p50).collect();
    let p90: Vec<f64> = steps.iter().map(|s| s.p90).collect();
    let mut summary = vec![
        backtest::metrics(
            &format!("{} calibrated", answers.model),
            &actual,
            &p50,
            &p90,
        ),
        backtest::metrics(
            &answers.model,
            &actual,
            &answers.p50[skip..],
            &answers.p90[skip..],
        ),
    ];
    for baseline in Baseline::ALL {
        let (b50, b90) = backtest::baseline_quantiles(
            baseline,
            values,
            &plan,
            horizon,
            series.day_steps(),
            MIN_HISTORY,
        );
        summary.push(backtest::metrics(baseline.name(), &actual, &b50, &b90));
    }
    let points = plan
        .origins
        .iter()
        .zip(actual.iter().zip(p50.iter().zip(&p90)))
        .map(|(&i, (&actual_peak, (&p50, &p90)))| Point {
            t: series.t(i - 1),
            actual_peak,
            p50,
            p90,
        })
        .collect();
    Ok(Backtest {
        model: answers.model,
        horizon_steps: horizon,
        start_index: plan.start,
        start_t: series.t(plan.start - 1),
        points,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A forecaster in plain Rust: the mean of the last 12 samples, p90 +10%.
    struct Mean12;

    impl PeakModel for Mean12 {
        fn forecast_at(
            &self,
            series: &Series,
            origins: &[usize],
            _horizon: usize,
        ) -> Result<ModelForecasts, ForecastError> {
            let p50: Vec<f64> = origins
                .iter()
                .map(|&i| {
                    let w = &series.values[i.saturating_sub(12)..i];
                    w.iter().sum::<f64>() / w.len() as f64
                })
                .collect();
            Ok(ModelForecasts {
                p90: p50.iter().map(|p| p * 1.1).collect(),
                p50,
                model: "mean12@0".into(),
            })
        }

        fn origin_budget(&self) -> Option<usize> {
            None
        }
    }

    fn daily(days: usize, noise: f64) -> Series {
        // 5-minute samples of a daily wave with deterministic noise.
        let values = (0..days * 288)
            .map(|i| {
                let phase = (i % 288) as f64 / 288.0 * std::f64::consts::TAU;
                100.0 + 50.0 * phase.sin() + noise * ((i as f64 * 7.3).sin())
            })
            .collect();
        Series::regular(1_400_000_000, 300, values)
    }

    #[test]
    fn a_daily_wave_is_forecast_by_its_season_and_covered() {
        let series = daily(14, 5.0);
        let f = forecast(&Mean12, &series, 12, &Settings::default()).unwrap();
        assert_eq!(f.model, "mean12@0");
        assert!(f.p90_peak >= f.p50_peak);
        assert!(f.calibration.known_origins > 500, "{f:?}");
        // The seasonal candidates know the wave; the mean of the last hour does not.
        let top = &f.calibration.candidates[0];
        assert!(top.method.starts_with("seasonal"), "{f:?}");
        let bt = backtest(&Mean12, &series, 12, None, &Settings::default()).unwrap();
        let calibrated = &bt.summary[0];
        let window_max = bt
            .summary
            .iter()
            .find(|m| m.method == "window-max")
            .unwrap();
        assert!(calibrated.wape < window_max.wape, "{:?}", bt.summary);
        assert!(
            (0.05..=0.15).contains(&calibrated.under_provisioning_rate),
            "{calibrated:?}"
        );
        assert_eq!(bt.points.len(), 14 * 288 - bt.start_index - 12 + 1);
    }

    #[test]
    fn short_series_are_refused_or_uncalibrated() {
        let series = Series::regular(0, 60, (0..30).map(f64::from).collect());
        let f = forecast(&Mean12, &series, 3, &Settings::default()).unwrap();
        assert!(f.calibration.known_origins > 0 || f.p50_peak == f.calibration.model_p50);
        let tiny = Series::regular(0, 60, vec![1.0; 5]);
        assert!(matches!(
            forecast(&Mean12, &tiny, 3, &Settings::default()),
            Err(ForecastError::TooShort { .. })
        ));
        assert!(matches!(
            backtest(&Mean12, &series, 12, None, &Settings::default()),
            Err(ForecastError::TooShort { .. })
        ));
    }

    #[test]
    fn peak_at_is_where_yesterday_peaked() {
        let series = daily(2, 0.0);
        let f = forecast(&Mean12, &series, 36, &Settings::default()).unwrap();
        let offset = (f.peak_at - series.last_t()) / 300;
        // The series ends at midnight; a day earlier the next 36 steps rose all along.
        assert_eq!(offset, 36);
        assert!(f.peak_at <= series.last_t() + 36 * 300);
    }

    /// A forecaster whose p90 is below its p50: a broken answer, refused.
    struct Inverted;

    impl PeakModel for Inverted {
        fn forecast_at(
            &self,
            _series: &Series,
            origins: &[usize],
            _horizon: usize,
        ) -> Result<ModelForecasts, ForecastError> {
            Ok(ModelForecasts {
                p50: vec![10.0; origins.len()],
                p90: vec![5.0; origins.len()],
                model: "inverted@1".into(),
            })
        }

        fn origin_budget(&self) -> Option<usize> {
            None
        }
    }

    #[test]
    fn a_p90_below_the_p50_is_refused() {
        let err = forecast(&Inverted, &daily(2, 1.0), 12, &Settings::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the forecaster's answer is not what was asked for: inverted@1 forecast a p90 peak of 5 below its p50 peak of 10; a p90 is never below the p50"
        );
    }

    #[test]
    fn spreading_keeps_the_last_origin() {
        assert_eq!(spread((0..10).collect(), 4), vec![0, 3, 6, 9]);
        assert_eq!(spread((0..3).collect(), 4), vec![0, 1, 2]);
    }
}
