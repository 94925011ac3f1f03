//! gantry's bundled load forecaster, a `wasm32-wasip1` command module run in gantry's
//! sandbox. It evaluates the forecaster's ONNX model (`model/forecaster.onnx`) with a
//! small interpreter of the operators that model uses, which keeps this module a few
//! hundred kilobytes; `gantry infer` runs arbitrary models on tract in a guest of its
//! own.
//!
//! - `--gantry-hook scale.forecast|forecast.batch`: the hooks described in
//!   `plugin.toml`, embedded below as the module's manifest. gantry calls the batch hook
//!   to calibrate the forecaster on the series' own history (see `docs/forecast.md`).
//! - `run`: the model on tensors from stdin, `{"NAME":{"shape":[..],"data":[..]}}`,
//!   printing its outputs in the same form; the tests compare them with onnxruntime.

mod graph;
mod model;
mod onnx;

use std::collections::HashMap;
use std::io::Read;
use std::process::ExitCode;

use gantry_plugin_sdk::HookError;
use gantry_plugin_sdk::forecast::{self as contract, BatchInput, BatchOutput, ForecastInput};
use serde::{Deserialize, Serialize};

use crate::graph::Tensor;
use crate::model::{MIN_SAMPLES, Model};

gantry_plugin_sdk::manifest!(include_str!("../plugin.toml"));

const SECONDS_PER_DAY: u64 = 86_400;

/// The contract's output plus how much of the series the model read.
#[derive(Debug, Serialize)]
struct RichOutput {
    #[serde(flatten)]
    forecast: contract::ForecastOutput,
    window_used: usize,
}

fn main() -> ExitCode {
    if gantry_plugin_sdk::hook_call().is_some() {
        return gantry_plugin_sdk::serve_hooks(|hook, input| {
            let model = Model::bundled().map_err(HookError::new)?;
            match hook {
                contract::HOOK => input.handle(|req: ForecastInput| forecast(&model, &req)),
                contract::BATCH_HOOK => input.handle(|req: BatchInput| batch(&model, &req)),
                other => Err(HookError::unknown_hook(other)),
            }
        });
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [cmd] if cmd == "run" => command_run(),
        _ => {
            eprintln!(
                "usage: forecaster run < INPUTS.json\n       \
                 forecaster --gantry-hook scale.forecast|forecast.batch < REQUEST.json"
            );
            ExitCode::from(2)
        }
    }
}

fn forecast(model: &Model, input: &ForecastInput) -> Result<RichOutput, HookError> {
    input.validate()?;
    let n = input.series.len();
    if n < MIN_SAMPLES {
        return Err(HookError::new(format!(
            "the series has {n} samples; the forecaster needs at least {MIN_SAMPLES}"
        )));
    }
    let horizon = usize::try_from(input.horizon_steps).unwrap_or(usize::MAX);
    let values: Vec<f64> = input.series.iter().map(|p| p.v).collect();
    let (p50, p90) = model
        .predict(&values, &[n], horizon)
        .map_err(HookError::new)?;
    let season = usize::try_from(SECONDS_PER_DAY / input.interval_s).unwrap_or(0);
    let offset = contract::peak_offset(&values, horizon, season) as u64;
    let ahead = i64::try_from(input.interval_s.saturating_mul(offset)).unwrap_or(i64::MAX);
    Ok(RichOutput {
        forecast: contract::ForecastOutput {
            p50_peak: p50[0],
            p90_peak: p90[0],
            peak_at: input.series[n - 1].t.saturating_add(ahead),
            model: model.id.clone(),
        },
        window_used: n.min(model.window),
    })
}

fn batch(model: &Model, input: &BatchInput) -> Result<BatchOutput, HookError> {
    let horizon = usize::try_from(input.horizon_steps).unwrap_or(usize::MAX);
    let origins: Vec<usize> = input
        .origins
        .iter()
        .map(|&o| usize::try_from(o).unwrap_or(usize::MAX))
        .collect();
    let (p50, p90) = model
        .predict(&input.values, &origins, horizon)
        .map_err(HookError::new)?;
    Ok(BatchOutput {
        p50,
        p90,
        model: model.id.clone(),
    })
}

#[derive(Deserialize, Serialize)]
struct JsonTensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

fn command_run() -> ExitCode {
    let result = (|| -> Result<serde_json::Map<String, serde_json::Value>, String> {
        let mut text = Vec::new();
        std::io::stdin()
            .read_to_end(&mut text)
            .map_err(|e| format!("reading the inputs from stdin: {e}"))?;
        let inputs: HashMap<String, JsonTensor> = serde_json::from_slice(&text).map_err(|e| {
            format!("the inputs are not {{\"NAME\":{{\"shape\":[..],\"data\":[..]}}}}: {e}")
        })?;
        let inputs = inputs
            .into_iter()
            .map(|(name, t)| Ok((name, Tensor::new(t.shape, t.data)?)))
            .collect::<Result<HashMap<_, _>, String>>()?;
        let outputs: serde_json::Map<String, serde_json::Value> = Model::bundled()?
            .run(inputs)?
            .into_iter()
            .map(|(name, t)| {
                let json = JsonTensor {
                    shape: t.shape,
                    data: t.data,
                };
                Ok((name, serde_json::to_value(json).map_err(|e| e.to_string())?))
            })
            .collect::<Result<_, String>>()?;
        Ok(outputs)
    })();
    match result {
        Ok(doc) => gantry_plugin_sdk::print_json_line(&doc),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
