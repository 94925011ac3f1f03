//! Forecasters as the calibration sees them ([`PeakModel`]): the p50 and p90 of the
//! peak after each of many origins. [`PluginModel`] asks a plugin: in one sandbox run
//! through the `forecast.batch` hook when the plugin serves it, otherwise through the
//! contract hook `scale.forecast`, once per origin.

use gantry_plugin_sdk::forecast::{
    BATCH_HOOK, BatchInput, BatchOutput, ForecastInput, ForecastOutput, HOOK, Sample,
};
use gantry_plugins::{Host, Plugin, RunOptions};

use crate::ForecastError;
use crate::series::Series;

/// Samples before an origin that a forecaster is sent: a week at 5 minutes.
pub const CONTEXT: usize = 2016;

/// The forecaster's answers for a list of origins.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelForecasts {
    pub p50: Vec<f64>,
    pub p90: Vec<f64>,
    /// `NAME@VERSION`.
    pub model: String,
}

pub trait PeakModel {
    /// The p50 and p90 of the peak of `series.values[i..i + horizon]` from
    /// `series.values[..i]`, for each origin `i` (ascending, each at least 1).
    fn forecast_at(
        &self,
        series: &Series,
        origins: &[usize],
        horizon: usize,
    ) -> Result<ModelForecasts, ForecastError>;

    /// How many origins it answers at an acceptable cost: `None` for any number.
    fn origin_budget(&self) -> Option<usize>;
}

/// A plugin serving `scale.forecast` (and perhaps `forecast.batch`) in the sandbox.
pub struct PluginModel<'a> {
    pub host: &'a Host,
    pub plugin: &'a Plugin,
    pub opts: RunOptions,
}

/// Sandbox runs a forecast may spend on a plugin without the batch hook.
const CALLS_WITHOUT_BATCH: usize = 48;

impl PluginModel<'_> {
    fn batches(&self) -> bool {
        self.plugin
            .manifest()
            .is_some_and(|m| m.provides_hook(BATCH_HOOK))
    }

    /// The plugin's answer to `input` on `hook`, refused unless it keeps the contract
    /// (the SDK's checks, as `gantry plugin test` runs them).
    fn answer<I: serde::Serialize, O: serde::de::DeserializeOwned>(
        &self,
        hook: &str,
        input: &I,
        violations: impl FnOnce(&O, &I) -> Vec<String>,
    ) -> Result<O, ForecastError> {
        let value =
            serde_json::to_value(input).map_err(|e| ForecastError::Answer(e.to_string()))?;
        let out = self.host.call_hook(self.plugin, hook, value, &self.opts)?;
        let out: O = serde_json::from_value(out).map_err(|e| {
            ForecastError::Answer(format!("{} answered {hook} with {e}", self.plugin.name()))
        })?;
        let found = violations(&out, input);
        if !found.is_empty() {
            return Err(ForecastError::Answer(format!(
                "{} answered {hook} against the contract: {}",
                self.plugin.name(),
                found.join("; ")
            )));
        }
        Ok(out)
    }
}

impl PeakModel for PluginModel<'_> {
    fn forecast_at(
        &self,
        series: &Series,
        origins: &[usize],
        horizon: usize,
    ) -> Result<ModelForecasts, ForecastError> {
        let (Some(&first), Some(&last)) = (origins.first(), origins.last()) else {
            return Ok(ModelForecasts {
                p50: Vec::new(),
                p90: Vec::new(),
                model: String::new(),
            });
        };
        if self.batches() {
            let lo = first.saturating_sub(CONTEXT);
            let input = BatchInput {
                values: series.values[lo..last].to_vec(),
                horizon_steps: horizon as u64,
                origins: origins.iter().map(|&o| (o - lo) as u64).collect(),
            };
            let out = self.answer(BATCH_HOOK, &input, BatchOutput::violations)?;
            return Ok(ModelForecasts {
                p50: out.p50,
                p90: out.p90,
                model: out.model,
            });
        }
        let mut answers = ModelForecasts {
            p50: Vec::with_capacity(origins.len()),
            p90: Vec::with_capacity(origins.len()),
            model: String::new(),
        };
        for &origin in origins {
            let lo = origin.saturating_sub(CONTEXT);
            let input = ForecastInput {
                series: (lo..origin)
                    .map(|i| Sample {
                        t: series.t(i),
                        v: series.values[i],
                    })
                    .collect(),
                // Positive: the series reader refuses any other interval.
                interval_s: series.interval_s.unsigned_abs(),
                horizon_steps: horizon as u64,
            };
            // Checked as a batch of one: the quantiles and the model, which the calibration
            // uses. Its `peak_at` is not used, so a past origin's is not held to the horizon.
            let out = self.answer(HOOK, &input, |out: &ForecastOutput, _| {
                let one = BatchOutput {
                    p50: vec![out.p50_peak],
                    p90: vec![out.p90_peak],
                    model: out.model.clone(),
                };
                one.violations(&BatchInput {
                    values: Vec::new(),
                    horizon_steps: horizon as u64,
                    origins: vec![origin as u64],
                })
            })?;
            answers.p50.push(out.p50_peak);
            answers.p90.push(out.p90_peak);
            answers.model = out.model;
        }
        Ok(answers)
    }

    fn origin_budget(&self) -> Option<usize> {
        (!self.batches()).then_some(CALLS_WITHOUT_BATCH)
    }
}
