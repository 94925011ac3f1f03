//! Tensors in JSON: `{"shape":[2,3],"data":[...flat...]}` or nested arrays on the way
//! in, `{"shape":[...],"data":[...]}` on the way out.

use serde::Serialize;
use serde_json::Value;
use tract_onnx::prelude::*;

/// A tensor as the user wrote it: numbers in row-major order and a shape.
#[derive(Debug, Clone, PartialEq)]
pub struct InputTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl InputTensor {
    pub fn from_json(value: &Value) -> Result<InputTensor, String> {
        match value {
            Value::Object(map) => {
                let shape = map
                    .get("shape")
                    .ok_or("an object tensor needs `shape` and `data`")?;
                let shape = shape
                    .as_array()
                    .ok_or("`shape` must be an array of non-negative integers")?
                    .iter()
                    .map(|d| {
                        d.as_u64()
                            .and_then(|d| usize::try_from(d).ok())
                            .ok_or("`shape` must be an array of non-negative integers")
                    })
                    .collect::<Result<Vec<usize>, _>>()?;
                let data = map
                    .get("data")
                    .ok_or("an object tensor needs `shape` and `data`")?;
                let mut flat = Vec::new();
                let mut nested_shape = Vec::new();
                flatten(data, 0, &mut nested_shape, &mut flat)?;
                let want = shape
                    .iter()
                    .try_fold(1usize, |acc, &d| acc.checked_mul(d))
                    .ok_or("`shape` is too large")?;
                if flat.len() != want {
                    return Err(format!(
                        "`data` has {} numbers but shape {:?} needs {want}",
                        flat.len(),
                        shape
                    ));
                }
                Ok(InputTensor { shape, data: flat })
            }
            Value::Array(_) | Value::Number(_) => {
                let mut flat = Vec::new();
                let mut shape = Vec::new();
                flatten(value, 0, &mut shape, &mut flat)?;
                Ok(InputTensor { shape, data: flat })
            }
            _ => Err(
                "a tensor is `{\"shape\":[..],\"data\":[..]}` or nested arrays of numbers".into(),
            ),
        }
    }

    /// Converts to the model's element type; integer types need integral values.
    pub fn to_tensor(&self, dt: DatumType) -> Result<Tensor, String> {
        fn ints<T: Datum + Copy + TryFrom<i64>>(
            shape: &[usize],
            data: &[f64],
        ) -> Result<Tensor, String> {
            let mut out = Vec::with_capacity(data.len());
            for &x in data {
                let i = x as i64;
                if i as f64 != x {
                    return Err(format!(
                        "{x} is not an integer, and the model wants integers"
                    ));
                }
                out.push(T::try_from(i).map_err(|_| format!("{x} is out of range"))?);
            }
            Tensor::from_shape(shape, &out).map_err(|e| e.to_string())
        }
        let shape = &self.shape;
        let data = &self.data;
        let t = match dt {
            DatumType::F32 => {
                let v: Vec<f32> = data.iter().map(|&x| x as f32).collect();
                Tensor::from_shape(shape, &v)
            }
            DatumType::F64 => Tensor::from_shape(shape, data),
            DatumType::I64 => return ints::<i64>(shape, data),
            DatumType::I32 => return ints::<i32>(shape, data),
            DatumType::I16 => return ints::<i16>(shape, data),
            DatumType::I8 => return ints::<i8>(shape, data),
            DatumType::U8 => return ints::<u8>(shape, data),
            DatumType::U16 => return ints::<u16>(shape, data),
            DatumType::U32 => return ints::<u32>(shape, data),
            DatumType::Bool => {
                let v: Vec<bool> = data.iter().map(|&x| x != 0.0).collect();
                Tensor::from_shape(shape, &v)
            }
            other => return Err(format!("inputs of type {other:?} are not supported")),
        };
        t.map_err(|e| e.to_string())
    }
}

/// Walks nested arrays, checking that they are rectangular.
fn flatten(
    value: &Value,
    depth: usize,
    shape: &mut Vec<usize>,
    out: &mut Vec<f64>,
) -> Result<(), String> {
    match value {
        Value::Number(n) => {
            if depth != shape.len() {
                return Err("nested arrays are ragged (numbers at different depths)".into());
            }
            let x = n.as_f64().ok_or("a number does not fit in a double")?;
            out.push(x);
            Ok(())
        }
        Value::Bool(b) => {
            if depth != shape.len() {
                return Err("nested arrays are ragged (values at different depths)".into());
            }
            out.push(if *b { 1.0 } else { 0.0 });
            Ok(())
        }
        Value::Array(items) => {
            if depth == shape.len() {
                if !out.is_empty() {
                    return Err("nested arrays are ragged (numbers at different depths)".into());
                }
                shape.push(items.len());
            } else if shape.get(depth) != Some(&items.len()) {
                return Err(format!(
                    "nested arrays are ragged: lengths {} and {} at depth {depth}",
                    shape.get(depth).copied().unwrap_or(0),
                    items.len()
                ));
            }
            if items.is_empty() {
                // An empty dimension ends the shape; deeper levels are unknowable.
                return Ok(());
            }
            for item in items {
                flatten(item, depth + 1, shape, out)?;
            }
            Ok(())
        }
        other => Err(format!("expected a number or an array, found {other}")),
    }
}

/// Output data keeps the tensor's own precision, so f32 results print as f32.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum OutputData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    Bool(Vec<bool>),
}

#[derive(Debug, Serialize)]
pub struct OutputTensor {
    pub shape: Vec<usize>,
    pub data: OutputData,
}

impl OutputTensor {
    pub fn from_tensor(t: &Tensor) -> TractResult<OutputTensor> {
        fn flat<T: Datum + Copy>(t: &Tensor) -> TractResult<Vec<T>> {
            Ok(t.cast_to::<T>()?
                .to_plain_array_view::<T>()?
                .iter()
                .copied()
                .collect())
        }
        let data = match t.datum_type() {
            DatumType::F32 | DatumType::F16 => OutputData::F32(flat::<f32>(t)?),
            DatumType::F64 => OutputData::F64(flat::<f64>(t)?),
            DatumType::Bool => OutputData::Bool(flat::<bool>(t)?),
            dt if dt.is_integer() => OutputData::I64(flat::<i64>(t)?),
            _ => OutputData::F64(flat::<f64>(t)?),
        };
        Ok(OutputTensor {
            shape: t.shape().to_vec(),
            data,
        })
    }
}
