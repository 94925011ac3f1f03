//! The bundled load forecaster: the embedded ONNX model behind `scale.forecast` and the
//! batch hook `forecast.batch` that `gantry forecast --backtest` uses to forecast from
//! many origins in one call.

use gantry_plugin_sdk::forecast::{ForecastInput, ForecastOutput};
use serde::{Deserialize, Serialize};
use tract_onnx::prelude::*;

use crate::runner::{InferError, Prepared};

/// The model trained by `wasm-guest/inference/training/train.py`.
pub const MODEL: &[u8] = include_bytes!("../model/forecaster.onnx");
pub const MODEL_ID: &str = "gantry-forecaster@1.0.0";
/// Samples the model reads; shorter series are padded on the left with their first value.
pub const WINDOW: usize = 288;
pub const MAX_HORIZON: usize = 72;
/// Fewer samples than this say nothing about a peak.
pub const MIN_SAMPLES: usize = 12;
/// The batch hook's name, as listed in `plugin.toml`.
pub const BATCH_HOOK: &str = "forecast.batch";
/// Windows per tract call in a batch, which bounds the batch's memory.
const CHUNK: usize = 512;

/// The contract's output plus how much of the series the model read.
#[derive(Debug, Serialize)]
pub struct RichOutput {
    #[serde(flatten)]
    pub forecast: ForecastOutput,
    pub window_used: usize,
}

#[derive(Debug, Deserialize)]
pub struct BatchInput {
    /// The whole series, oldest first; timestamps are not needed here.
    pub values: Vec<f64>,
    pub horizon_steps: usize,
    /// Forecast origins: origin `i` forecasts the peak of `values[i..i + horizon]`
    /// from `values[..i]`.
    pub origins: Vec<usize>,
}

#[derive(Debug, Serialize)]
pub struct BatchOutput {
    pub p50: Vec<f64>,
    pub p90: Vec<f64>,
    pub model: &'static str,
}

pub struct Forecaster {
    model: Prepared,
}

impl Forecaster {
    pub fn load() -> Result<Forecaster, InferError> {
        let proto = crate::runner::decode(MODEL, "the bundled model")?;
        Ok(Forecaster {
            model: Prepared::symbolic(&proto)?,
        })
    }

    /// p50 and p90 of the peak after each window ending at `origins`.
    pub fn predict(
        &self,
        values: &[f64],
        origins: &[usize],
        horizon: usize,
    ) -> Result<(Vec<f64>, Vec<f64>), InferError> {
        check_horizon(horizon)?;
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(InferError::Input(format!(
                "the series holds {bad}; every value must be a finite number"
            )));
        }
        let mut p50 = Vec::with_capacity(origins.len());
        let mut p90 = Vec::with_capacity(origins.len());
        for chunk in origins.chunks(CHUNK) {
            let mut window = Vec::with_capacity(chunk.len() * WINDOW);
            for &origin in chunk {
                if origin < MIN_SAMPLES || origin > values.len() {
                    return Err(InferError::Input(format!(
                        "origin {origin} needs at least {MIN_SAMPLES} samples before it, within the {} of the series",
                        values.len()
                    )));
                }
                let history = &values[origin.saturating_sub(WINDOW)..origin];
                let pad = WINDOW - history.len();
                window.extend(std::iter::repeat_n(history[0] as f32, pad));
                window.extend(history.iter().map(|&v| v as f32));
            }
            let n = chunk.len();
            let window = Tensor::from_shape(&[n, WINDOW], &window).map_err(model_err)?;
            let h = Tensor::from_shape(&[n, 1], &vec![horizon as f32; n]).map_err(model_err)?;
            let mut inputs = Vec::with_capacity(2);
            for name in self.model.input_names() {
                match name.as_str() {
                    "window" => inputs.push(window.clone()),
                    "horizon" => inputs.push(h.clone()),
                    other => {
                        return Err(InferError::Model(format!(
                            "the bundled model has an unexpected input `{other}`"
                        )));
                    }
                }
            }
            for (name, t) in self.model.run(inputs)? {
                let view = t.to_plain_array_view::<f32>().map_err(model_err)?;
                let target = match name.as_str() {
                    "p50" => &mut p50,
                    "p90" => &mut p90,
                    _ => continue,
                };
                target.extend(view.iter().map(|&x| f64::from(x)));
            }
        }
        // The p90 head is p50 plus a softplus, so it never crosses below; guard
        // against float rounding all the same.
        for (a, b) in p50.iter().zip(p90.iter_mut()) {
            *b = b.max(*a);
        }
        Ok((p50, p90))
    }

    /// Answers `scale.forecast`; the input has passed the contract's validation.
    pub fn forecast(&self, input: &ForecastInput) -> Result<RichOutput, InferError> {
        let n = input.series.len();
        if n < MIN_SAMPLES {
            return Err(InferError::Input(format!(
                "the series has {n} samples; the forecaster needs at least {MIN_SAMPLES}"
            )));
        }
        let horizon = usize::try_from(input.horizon_steps).unwrap_or(usize::MAX);
        let interval = i64::try_from(input.interval_s).unwrap_or(i64::MAX);
        let values: Vec<f64> = input.series.iter().map(|p| p.v).collect();
        let (p50, p90) = self.predict(&values, &[n], horizon)?;
        let offset = peak_offset(&values, horizon, interval) as i64;
        Ok(RichOutput {
            forecast: ForecastOutput {
                p50_peak: p50[0],
                p90_peak: p90[0],
                peak_at: input.series[n - 1]
                    .t
                    .saturating_add(interval.saturating_mul(offset)),
                model: MODEL_ID.to_string(),
            },
            window_used: n.min(WINDOW),
        })
    }

    pub fn batch(&self, input: &BatchInput) -> Result<BatchOutput, InferError> {
        let (p50, p90) = self.predict(&input.values, &input.origins, input.horizon_steps)?;
        Ok(BatchOutput {
            p50,
            p90,
            model: MODEL_ID,
        })
    }
}

fn model_err(e: impl std::fmt::Display) -> InferError {
    InferError::Model(e.to_string())
}

fn check_horizon(horizon: usize) -> Result<(), InferError> {
    if horizon == 0 || horizon > MAX_HORIZON {
        return Err(InferError::Input(format!(
            "horizon_steps is {horizon}; the bundled model forecasts 1 to {MAX_HORIZON} steps ahead"
        )));
    }
    Ok(())
}

/// When in the horizon the peak falls, in steps from the last sample (1-based): where
/// the same stretch of the previous day peaked (seasonal-naive), or the end of the
/// horizon when there is no full day of history.
fn peak_offset(values: &[f64], horizon: usize, interval_s: i64) -> usize {
    let day = usize::try_from(86_400 / interval_s).unwrap_or(0);
    let n = values.len();
    if day == 0 || n < day {
        return horizon;
    }
    let start = n - day;
    let stretch = &values[start..(start + horizon).min(n)];
    stretch
        .iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
        + 1
}
