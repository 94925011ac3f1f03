//! The bundled model: its ONNX file embedded at build time, what it reads (a window of
//! the last samples and a horizon) and how windows are cut from a series.

use std::collections::HashMap;

use crate::graph::{Graph, Tensor};
use crate::onnx::ModelProto;

/// The model trained by `training/train.py`.
const MODEL: &[u8] = include_bytes!("../model/forecaster.onnx");
/// Fewer samples than this say nothing about a peak.
pub const MIN_SAMPLES: usize = 12;
/// Windows per graph run, which bounds the memory of a large batch.
const CHUNK: usize = 512;

pub struct Model {
    graph: Graph,
    /// `name@version` from the model's metadata.
    pub id: String,
    /// Samples the model reads before an origin.
    pub window: usize,
    /// The longest horizon it was trained for, in steps.
    pub max_horizon: usize,
}

impl Model {
    pub fn bundled() -> Result<Model, String> {
        let proto = ModelProto::decode_bytes(MODEL)?;
        let meta = |key: &str| {
            proto
                .metadata(key)
                .ok_or_else(|| format!("the bundled model lacks metadata `{key}`"))
        };
        let number = |key: &str| -> Result<usize, String> {
            meta(key)?
                .parse()
                .map_err(|_| format!("the bundled model's `{key}` is not a number"))
        };
        Ok(Model {
            id: format!("{}@{}", meta("name")?, meta("version")?),
            window: number("window")?,
            max_horizon: number("max_horizon")?,
            graph: Graph::from_model(&proto)?,
        })
    }

    /// Runs the graph on tensors by name, as `forecaster run` does.
    pub fn run(&self, inputs: HashMap<String, Tensor>) -> Result<Vec<(String, Tensor)>, String> {
        self.graph.run(inputs)
    }

    pub fn check_horizon(&self, horizon: usize) -> Result<(), String> {
        if horizon == 0 || horizon > self.max_horizon {
            return Err(format!(
                "horizon_steps is {horizon}; the bundled model forecasts 1 to {} steps ahead",
                self.max_horizon
            ));
        }
        Ok(())
    }

    /// The p50 and p90 of the peak after each origin: origin `i` reads `values[..i]`.
    pub fn predict(
        &self,
        values: &[f64],
        origins: &[usize],
        horizon: usize,
    ) -> Result<(Vec<f64>, Vec<f64>), String> {
        self.check_horizon(horizon)?;
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(format!(
                "the series holds {bad}; every value must be a finite number"
            ));
        }
        let mut p50 = Vec::with_capacity(origins.len());
        let mut p90 = Vec::with_capacity(origins.len());
        for chunk in origins.chunks(CHUNK) {
            let mut windows = Vec::with_capacity(chunk.len() * self.window);
            for &origin in chunk {
                push_window(values, origin, self.window, &mut windows)?;
            }
            let n = chunk.len();
            let inputs = HashMap::from([
                (
                    "window".to_string(),
                    Tensor::new(vec![n, self.window], windows)?,
                ),
                (
                    "horizon".to_string(),
                    Tensor::new(vec![n, 1], vec![horizon as f32; n])?,
                ),
            ]);
            for (name, t) in self.graph.run(inputs)? {
                let target = match name.as_str() {
                    "p50" => &mut p50,
                    "p90" => &mut p90,
                    _ => continue,
                };
                target.extend(t.data.iter().map(|&x| f64::from(x)));
            }
        }
        if p50.len() != origins.len() || p90.len() != origins.len() {
            return Err("the bundled model does not output `p50` and `p90` per window".into());
        }
        // The p90 head is p50 plus a softplus, so it never crosses below; guard
        // against float rounding all the same.
        for (a, b) in p50.iter().zip(p90.iter_mut()) {
            *b = b.max(*a);
        }
        Ok((p50, p90))
    }
}

/// Appends the model's window for `origin`: the `window` samples before it, oldest
/// first, padded on the left with the first sample when fewer exist.
pub fn push_window(
    values: &[f64],
    origin: usize,
    window: usize,
    out: &mut Vec<f32>,
) -> Result<(), String> {
    if origin < MIN_SAMPLES || origin > values.len() {
        return Err(format!(
            "origin {origin} needs at least {MIN_SAMPLES} samples before it, within the {} given",
            values.len()
        ));
    }
    let history = &values[origin.saturating_sub(window)..origin];
    out.extend(std::iter::repeat_n(
        history[0] as f32,
        window - history.len(),
    ));
    out.extend(history.iter().map(|&v| v as f32));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_end_at_the_origin_and_pad_on_the_left() {
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        let mut out = Vec::new();
        push_window(&values, 20, 5, &mut out).unwrap();
        assert_eq!(out, [16., 17., 18., 19., 20.]);
        out.clear();
        push_window(&values, 14, 16, &mut out).unwrap();
        assert_eq!(&out[..3], [1., 1., 1.]);
        assert_eq!(&out[2..], (1..=14).map(|v| v as f32).collect::<Vec<_>>());
        assert!(push_window(&values, 11, 5, &mut out).is_err());
        assert!(push_window(&values, 21, 5, &mut out).is_err());
    }

    #[test]
    fn the_bundled_model_loads_and_forecasts() {
        let model = Model::bundled().unwrap();
        assert_eq!(model.id, "gantry-forecaster@1.0.0");
        assert_eq!((model.window, model.max_horizon), (288, 72));
        // A steady series: both quantiles near its level, p90 at or above p50.
        let values = vec![100.0; 400];
        let (p50, p90) = model.predict(&values, &[300, 400], 12).unwrap();
        for (a, b) in p50.iter().zip(&p90) {
            assert!((a - 100.0).abs() < 10.0 && b >= a, "{a} {b}");
        }
        assert!(model.predict(&values, &[300], 0).is_err());
        assert!(model.predict(&[f64::NAN; 20], &[20], 1).is_err());
    }
}
