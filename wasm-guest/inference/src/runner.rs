//! Loads an ONNX model with tract and runs it on named input tensors. Every way a
//! user's model or input can be wrong ends in an [`InferError`] that names the problem.

use std::cell::RefCell;
use std::collections::BTreeMap;

use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid as _;

use crate::tensor::{InputTensor, OutputTensor};

/// The memory a model needs while tract decodes and optimises it, as a multiple of its
/// file size (the protobuf buffer, the decoded initialisers and the optimised copies).
const LOAD_FACTOR: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error("{0} is not an ONNX model ({1})")]
    NotOnnx(String, String),
    #[error(
        "the model uses {ops}, which tract does not support; export it with supported operators (Gemm, MatMul, Conv, LSTM, GRU, ...)"
    )]
    UnsupportedOps { ops: String },
    #[error("{0}")]
    Input(String),
    #[error(
        "the model needs about {need_mib} MiB to load, more than the sandbox's memory cap allows; raise the cap with `--memory-mib N` or `plugins.memory_mib` in the configuration"
    )]
    TooLarge { need_mib: usize },
    #[error("tract could not run the model: {0}")]
    Model(String),
}

impl InferError {
    /// The `infer` command's exit code, which gantry maps to its own: 2 for a bad
    /// model or input, 10 for the memory cap, 1 when tract fails.
    pub fn exit_code(&self) -> u8 {
        match self {
            InferError::NotOnnx(..) | InferError::UnsupportedOps { .. } | InferError::Input(_) => 2,
            InferError::TooLarge { .. } => 10,
            InferError::Model(_) => 1,
        }
    }
}

fn model_error(e: impl std::fmt::Display) -> InferError {
    InferError::Model(format!("{e:#}"))
}

/// Reads a model file, checking first that the sandbox's memory can hold its loading.
pub fn read_model(path: &str) -> Result<Vec<u8>, InferError> {
    let len = std::fs::metadata(path)
        .map_err(|e| InferError::Input(format!("cannot read {path}: {e}")))?
        .len();
    let len = usize::try_from(len).map_err(|_| InferError::TooLarge {
        need_mib: usize::MAX / (1 << 20),
    })?;
    let need = len.saturating_mul(LOAD_FACTOR);
    // Probe the allocator before tract allocates piecemeal. Under gantry, the host stops
    // the guest right here with its memory-limit error (which names `--memory-mib`);
    // under a runtime where growing memory fails softly, the guest explains it itself.
    let mut probe: Vec<u8> = Vec::new();
    if probe.try_reserve_exact(need).is_err() {
        return Err(InferError::TooLarge {
            need_mib: need.div_ceil(1 << 20),
        });
    }
    drop(probe);
    std::fs::read(path).map_err(|e| InferError::Input(format!("cannot read {path}: {e}")))
}

/// Decodes the protobuf and checks that every operator is one tract knows, before tract
/// builds anything.
pub fn decode(bytes: &[u8], what: &str) -> Result<ModelProto, InferError> {
    let onnx = tract_onnx::onnx();
    let proto = onnx
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| InferError::NotOnnx(what.to_string(), format!("{e:#}")))?;
    let Some(graph) = proto.graph.as_ref() else {
        return Err(InferError::NotOnnx(
            what.to_string(),
            "no graph in the file".to_string(),
        ));
    };
    if proto.ir_version == 0 || graph.output.is_empty() {
        return Err(InferError::NotOnnx(
            what.to_string(),
            "no IR version or no outputs".to_string(),
        ));
    }
    let mut unknown = BTreeMap::<&str, &str>::new();
    for node in &graph.node {
        if !onnx.op_register.0.contains_key(&node.op_type) {
            unknown.entry(&node.op_type).or_insert(&node.name);
        }
    }
    if !unknown.is_empty() {
        let ops = unknown
            .iter()
            .map(|(op, node)| {
                if node.is_empty() {
                    format!("operator `{op}`")
                } else {
                    format!("operator `{op}` (node `{node}`)")
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        return Err(InferError::UnsupportedOps { ops });
    }
    Ok(proto)
}

/// A model ready to run on inputs of the shapes it was prepared for.
pub struct Prepared {
    /// One execution state for every run: spawning a fresh one per run costs about as
    /// much as a small model's arithmetic.
    state: RefCell<TypedSimpleState>,
    output_names: Vec<String>,
}

/// The model's declared inputs: name, element type (if declared) and dimensions
/// (`None` for a symbolic or unknown dimension).
pub struct Declared {
    pub name: String,
    pub datum_type: Option<DatumType>,
    pub dims: Option<Vec<Option<i64>>>,
}

fn declared_inputs(model: &InferenceModel) -> Result<Vec<Declared>, InferError> {
    let outlets = model.input_outlets().map_err(model_error)?;
    let mut out = Vec::with_capacity(outlets.len());
    for (ix, outlet) in outlets.iter().enumerate() {
        let fact = model.input_fact(ix).map_err(model_error)?;
        let dims = if fact.shape.is_open() {
            None
        } else {
            Some(
                fact.shape
                    .dims()
                    .map(|d| d.concretize().and_then(|d| d.as_i64()))
                    .collect(),
            )
        };
        out.push(Declared {
            name: model.node(outlet.node).name.clone(),
            datum_type: fact.datum_type.concretize(),
            dims,
        });
    }
    Ok(out)
}

fn shape_text(dims: &[Option<i64>]) -> String {
    let inner = dims
        .iter()
        .map(|d| d.map_or_else(|| "?".to_string(), |d| d.to_string()))
        .collect::<Vec<_>>()
        .join(",");
    format!("[{inner}]")
}

/// Builds a runnable plan for inputs of exactly these shapes. Inputs are checked
/// against the model's declared names, element types and fixed dimensions first, so a
/// mismatch is reported in the user's terms rather than as a failed graph analysis.
pub fn prepare(
    proto: &ModelProto,
    inputs: &BTreeMap<String, InputTensor>,
) -> Result<(Prepared, Vec<Tensor>), InferError> {
    let onnx = tract_onnx::onnx();
    let mut model = onnx.model_for_proto_model(proto).map_err(model_error)?;
    let declared = declared_inputs(&model)?;
    let missing: Vec<String> = declared
        .iter()
        .filter(|d| !inputs.contains_key(&d.name))
        .map(|d| match &d.dims {
            Some(dims) => format!("`{}` {}", d.name, shape_text(dims)),
            None => format!("`{}`", d.name),
        })
        .collect();
    if !missing.is_empty() {
        return Err(InferError::Input(format!(
            "missing input {}; the input file must map every model input to a tensor",
            missing.join(", ")
        )));
    }
    let unknown: Vec<&str> = inputs
        .keys()
        .filter(|k| !declared.iter().any(|d| &d.name == *k))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        let known: Vec<&str> = declared.iter().map(|d| d.name.as_str()).collect();
        return Err(InferError::Input(format!(
            "the model has no input named {}; its inputs are {}",
            unknown.join(", "),
            known.join(", ")
        )));
    }
    let mut tensors = Vec::with_capacity(declared.len());
    for (ix, d) in declared.iter().enumerate() {
        let given = &inputs[&d.name];
        if let Some(dims) = &d.dims {
            let fits = dims.len() == given.shape.len()
                && dims
                    .iter()
                    .zip(&given.shape)
                    .all(|(want, got)| want.is_none_or(|w| w == *got as i64));
            if !fits {
                return Err(InferError::Input(format!(
                    "input `{}` has shape {}, the model expects {}",
                    d.name,
                    shape_text(
                        &given
                            .shape
                            .iter()
                            .map(|&s| Some(s as i64))
                            .collect::<Vec<_>>()
                    ),
                    shape_text(dims)
                )));
            }
        }
        let dt = d.datum_type.unwrap_or(DatumType::F32);
        let tensor = given
            .to_tensor(dt)
            .map_err(|e| InferError::Input(format!("input `{}`: {e}", d.name)))?;
        model
            .set_input_fact(ix, InferenceFact::dt_shape(dt, tensor.shape().to_vec()))
            .map_err(model_error)?;
        tensors.push(tensor);
    }
    let output_names = proto
        .graph
        .as_ref()
        .map(|g| g.output.iter().map(|o| o.name.clone()).collect())
        .unwrap_or_default();
    let typed = model.into_optimized().map_err(|e| {
        InferError::Input(format!(
            "the model cannot run on inputs of these shapes: {e:#}"
        ))
    })?;
    let state = typed
        .into_runnable()
        .and_then(|plan| plan.spawn())
        .map_err(model_error)?;
    Ok((
        Prepared {
            state: RefCell::new(state),
            output_names,
        },
        tensors,
    ))
}

impl Prepared {
    /// Runs the plan; outputs come back in the model's declared order, by name.
    pub fn run(&self, inputs: Vec<Tensor>) -> Result<Vec<(String, Tensor)>, InferError> {
        let values: TVec<TValue> = inputs.into_iter().map(|t| t.into_tvalue()).collect();
        let outputs = self.state.borrow_mut().run(values).map_err(model_error)?;
        Ok(self
            .output_names
            .iter()
            .cloned()
            .zip(outputs.into_iter().map(|v| v.into_tensor()))
            .collect())
    }
}

/// The whole generic path: bytes and JSON inputs in, JSON-ready outputs out.
pub fn infer(
    bytes: &[u8],
    what: &str,
    inputs: &BTreeMap<String, InputTensor>,
) -> Result<Vec<(String, OutputTensor)>, InferError> {
    let proto = decode(bytes, what)?;
    let (prepared, tensors) = prepare(&proto, inputs)?;
    prepared
        .run(tensors)?
        .into_iter()
        .map(|(name, t)| Ok((name, OutputTensor::from_tensor(&t).map_err(model_error)?)))
        .collect()
}
