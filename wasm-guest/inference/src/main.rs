//! gantry's inference guest, a `wasm32-wasip1` command module run in gantry's sandbox:
//! tract-onnx for any ONNX model. (The bundled load forecaster is a guest of its own,
//! `wasm-guest/forecaster`, so that a forecast does not load all of tract.)
//!
//! - `infer MODEL_PATH`: runs a user's ONNX model (granted read-only by the host) on
//!   the JSON tensors on stdin and prints the outputs as JSON on stdout.
//! - `bench MODEL_PATH ITERATIONS`: times loading the model and running it on the
//!   inputs on stdin, for `docs/benchmarks.md`. The same binary built for the host is
//!   the native-tract side of that comparison.

mod runner;
mod tensor;

use std::collections::BTreeMap;
use std::io::Read;
use std::process::ExitCode;
use std::time::Instant;

use serde_json::Value;

use crate::runner::InferError;
use crate::tensor::InputTensor;

gantry_plugin_sdk::manifest!(include_str!("../plugin.toml"));

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [cmd, model] if cmd == "infer" => command_infer(model),
        [cmd, model, iterations] if cmd == "bench" => match iterations.parse::<usize>() {
            Ok(n) if n > 0 => command_bench(model, n),
            _ => {
                eprintln!("error: ITERATIONS must be a positive integer, got `{iterations}`");
                ExitCode::from(2)
            }
        },
        _ => {
            eprintln!(
                "usage: inference infer MODEL.onnx < INPUTS.json\n       \
                 inference bench MODEL.onnx ITERATIONS < INPUTS.json"
            );
            ExitCode::from(2)
        }
    }
}

fn command_infer(model: &str) -> ExitCode {
    match infer_file(model) {
        Ok(doc) => gantry_plugin_sdk::print_json_line(&doc),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn read_inputs() -> Result<BTreeMap<String, InputTensor>, InferError> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| InferError::Input(format!("reading the inputs from stdin: {e}")))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| InferError::Input(format!("the inputs are not JSON: {e}")))?;
    let Value::Object(map) = doc else {
        return Err(InferError::Input(
            "the inputs must be a JSON object mapping input names to tensors".into(),
        ));
    };
    map.iter()
        .map(|(name, v)| {
            InputTensor::from_json(v)
                .map(|t| (name.clone(), t))
                .map_err(|e| InferError::Input(format!("input `{name}`: {e}")))
        })
        .collect()
}

fn infer_file(path: &str) -> Result<Value, InferError> {
    let inputs = read_inputs()?;
    let bytes = runner::read_model(path)?;
    let outputs = runner::infer(&bytes, path, &inputs)?;
    let mut doc = serde_json::Map::new();
    for (name, tensor) in outputs {
        let value = serde_json::to_value(tensor).map_err(|e| InferError::Model(e.to_string()))?;
        doc.insert(name, value);
    }
    Ok(Value::Object(doc))
}

fn command_bench(model: &str, iterations: usize) -> ExitCode {
    match bench(model, iterations) {
        Ok(doc) => {
            println!("{doc}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Load time, then per-run latency over `iterations` runs after one warm-up run.
fn bench(path: &str, iterations: usize) -> Result<Value, InferError> {
    let inputs = read_inputs()?;
    let start = Instant::now();
    let bytes = runner::read_model(path)?;
    let proto = runner::decode(&bytes, path)?;
    let (prepared, tensors) = runner::prepare(&proto, &inputs)?;
    let load = start.elapsed();
    prepared.run(tensors.clone())?;
    let mut runs = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t = Instant::now();
        prepared.run(tensors.clone())?;
        runs.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let mean = runs.iter().sum::<f64>() / runs.len() as f64;
    runs.sort_by(f64::total_cmp);
    Ok(serde_json::json!({
        "load_ms": load.as_secs_f64() * 1e3,
        "iterations": iterations,
        "mean_us": mean,
        "p50_us": runs[runs.len() / 2],
        "min_us": runs[0],
    }))
}
