//! gantry's load forecasting, without a terminal: load a series ([`series`]), ask the
//! bundled forecaster (the `inference` guest, run through `gantry_plugins`) for the p50
//! and p90 of the peak over the next horizon ([`Forecaster::forecast`]), and measure it
//! against naive baselines on the series' own past ([`Forecaster::backtest`]).

pub mod backtest;
pub mod baselines;
pub mod series;

use gantry_plugins::{Host, Plugin, PluginError, RunOptions};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::backtest::Metrics;
use crate::baselines::Baseline;
use crate::series::Series;

/// The hook that forecasts from many origins in one guest run.
pub const BATCH_HOOK: &str = "forecast.batch";
/// The contract hook.
pub const FORECAST_HOOK: &str = "scale.forecast";
/// Horizons the bundled model was trained for, in steps.
pub const MAX_HORIZON: usize = 72;
/// Samples the bundled model reads before an origin.
pub const MODEL_WINDOW: usize = 288;
/// The least history before an origin that a backtest evaluates.
pub const MIN_HISTORY: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum ForecastError {
    #[error(transparent)]
    Series(#[from] series::SeriesError),
    #[error(
        "--horizon {0} is out of range; the bundled model forecasts 1 to {MAX_HORIZON} steps ahead"
    )]
    Horizon(usize),
    #[error(
        "{path} has {samples} samples, too few for a backtest with a horizon of {horizon} (it evaluates origins in the last 20% with at least {MIN_HISTORY} samples of history); use a longer series or a shorter --horizon"
    )]
    TooShort {
        path: String,
        samples: usize,
        horizon: usize,
    },
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error("the forecaster's answer is not what was asked for: {0}")]
    Answer(String),
}

/// The bundled forecaster's answer for the end of a series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    pub p50_peak: f64,
    pub p90_peak: f64,
    pub peak_at: i64,
    pub model: String,
    pub window_used: usize,
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
    /// The first evaluated origin's index and its time.
    pub start_index: usize,
    pub start_t: i64,
    pub points: Vec<Point>,
    /// The model first, then every baseline, on the same points.
    pub summary: Vec<Metrics>,
}

#[derive(Deserialize)]
struct BatchAnswer {
    p50: Vec<f64>,
    p90: Vec<f64>,
    model: String,
}

/// The bundled forecaster behind a plugin host.
pub struct Forecaster<'a> {
    pub host: &'a Host,
    pub plugin: &'a Plugin,
    pub opts: RunOptions,
}

fn check_horizon(horizon: usize) -> Result<(), ForecastError> {
    if horizon == 0 || horizon > MAX_HORIZON {
        return Err(ForecastError::Horizon(horizon));
    }
    Ok(())
}

impl Forecaster<'_> {
    /// The p50 and p90 of the peak over the `horizon` steps after the series ends.
    pub fn forecast(&self, series: &Series, horizon: usize) -> Result<Forecast, ForecastError> {
        check_horizon(horizon)?;
        let input = json!({
            "series": series.samples,
            "interval_s": series.interval_s,
            "horizon_steps": horizon,
        });
        let out = self
            .host
            .call_hook(self.plugin, FORECAST_HOOK, input, &self.opts)?;
        serde_json::from_value(out).map_err(|e| ForecastError::Answer(e.to_string()))
    }

    /// The model's p50 and p90 at each origin, in one guest run.
    pub fn batch(
        &self,
        values: &[f64],
        origins: &[usize],
        horizon: usize,
    ) -> Result<(Vec<f64>, Vec<f64>, String), ForecastError> {
        check_horizon(horizon)?;
        let input = json!({ "values": values, "horizon_steps": horizon, "origins": origins });
        let out = self
            .host
            .call_hook(self.plugin, BATCH_HOOK, input, &self.opts)?;
        let answer: BatchAnswer =
            serde_json::from_value(out).map_err(|e| ForecastError::Answer(e.to_string()))?;
        if answer.p50.len() != origins.len() || answer.p90.len() != origins.len() {
            return Err(ForecastError::Answer(format!(
                "{} origins asked, {} p50 and {} p90 returned",
                origins.len(),
                answer.p50.len(),
                answer.p90.len()
            )));
        }
        Ok((answer.p50, answer.p90, answer.model))
    }

    /// Rolling-origin backtest over the last 20% of the series: the model and every
    /// baseline forecast from each origin, and are scored on the peaks that followed.
    pub fn backtest(
        &self,
        series: &Series,
        origin: &str,
        horizon: usize,
    ) -> Result<Backtest, ForecastError> {
        check_horizon(horizon)?;
        let values = series.values();
        let plan = backtest::plan(values.len(), horizon, MIN_HISTORY).ok_or_else(|| {
            ForecastError::TooShort {
                path: origin.to_string(),
                samples: values.len(),
                horizon,
            }
        })?;
        let actual = backtest::actual_peaks(&values, &plan.origins, horizon);
        let (p50, p90, model) = self.batch(&values, &plan.origins, horizon)?;
        let season = usize::try_from(86_400 / series.interval_s.max(1)).unwrap_or(0);
        let mut summary = vec![backtest::metrics(&model, &actual, &p50, &p90)];
        for baseline in Baseline::ALL {
            let (b50, b90) = backtest::baseline_quantiles(
                baseline,
                &values,
                &plan,
                horizon,
                season,
                MIN_HISTORY,
            );
            summary.push(backtest::metrics(baseline.name(), &actual, &b50, &b90));
        }
        let points = plan
            .origins
            .iter()
            .zip(actual.iter().zip(p50.iter().zip(&p90)))
            .map(|(&i, (&actual_peak, (&p50, &p90)))| Point {
                t: series.samples[i - 1].t,
                actual_peak,
                p50,
                p90,
            })
            .collect();
        Ok(Backtest {
            model,
            horizon_steps: horizon,
            start_index: plan.start,
            start_t: series.samples[plan.start - 1].t,
            points,
            summary,
        })
    }
}
