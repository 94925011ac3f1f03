//! A small evaluator for ONNX graphs of dense `float32` operators: exactly the ones the
//! bundled forecaster's graph uses (see `docs/forecast.md`, model card). A graph with
//! any other operator, data type or attribute value is refused when it is loaded, with
//! the operator named, so a retrained model that needs more fails its build's tests
//! rather than computing something else. `tests/inference.rs` checks its outputs
//! against onnxruntime on the bundled model.

use std::collections::HashMap;

use crate::onnx::{self, GraphProto, ModelProto, NodeProto, TensorProto};

/// A dense row-major `float32` tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Tensor {
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Tensor, String> {
        let len: usize = shape.iter().product();
        if len != data.len() {
            return Err(format!(
                "shape {shape:?} needs {len} values, {} were given",
                data.len()
            ));
        }
        Ok(Tensor { shape, data })
    }

    fn scalar(&self, what: &str) -> Result<f32, String> {
        match self.data.as_slice() {
            [x] => Ok(*x),
            _ => Err(format!("{what} must be a single value")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Unary {
    Abs,
    Relu,
    Softplus,
    Sqrt,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Binary {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Unary(Unary),
    Binary(Binary),
    Gemm {
        alpha: f32,
        beta: f32,
        trans_a: bool,
        trans_b: bool,
    },
    /// `axes` from the attribute (opset 13) or, when empty, from the second input.
    ReduceMean {
        axes: Vec<i64>,
        keep_dims: bool,
    },
    /// Bounds from the optional second and third inputs (opset 11 and later).
    Clip,
    Concat {
        axis: i64,
    },
}

#[derive(Debug, Clone)]
struct Node {
    name: String,
    op: Op,
    inputs: Vec<String>,
    outputs: Vec<String>,
    /// Values no later node reads and the graph does not output: dropped once this node
    /// has run, so that a run holds a few batches of activations rather than all.
    frees: Vec<String>,
}

/// A graph ready to run: its nodes in order, its constants, and its declared inputs
/// and outputs.
#[derive(Debug, Clone)]
pub struct Graph {
    inputs: Vec<(String, Vec<Option<usize>>)>,
    outputs: Vec<String>,
    nodes: Vec<Node>,
    constants: HashMap<String, Tensor>,
}

fn attr_i(node: &NodeProto, name: &str, default: i64) -> i64 {
    node.attribute
        .iter()
        .find(|a| a.name == name)
        .map_or(default, |a| a.i)
}

fn attr_f(node: &NodeProto, name: &str, default: f32) -> f32 {
    node.attribute
        .iter()
        .find(|a| a.name == name)
        .map_or(default, |a| a.f)
}

fn op_of(node: &NodeProto) -> Result<Op, String> {
    if !node.domain.is_empty() && node.domain != "ai.onnx" {
        return Err(format!(
            "operator `{}` of domain `{}` is not supported",
            node.op_type, node.domain
        ));
    }
    Ok(match node.op_type.as_str() {
        "Abs" => Op::Unary(Unary::Abs),
        "Relu" => Op::Unary(Unary::Relu),
        "Softplus" => Op::Unary(Unary::Softplus),
        "Sqrt" => Op::Unary(Unary::Sqrt),
        "Add" => Op::Binary(Binary::Add),
        "Sub" => Op::Binary(Binary::Sub),
        "Mul" => Op::Binary(Binary::Mul),
        "Div" => Op::Binary(Binary::Div),
        "Gemm" => Op::Gemm {
            alpha: attr_f(node, "alpha", 1.0),
            beta: attr_f(node, "beta", 1.0),
            trans_a: attr_i(node, "transA", 0) != 0,
            trans_b: attr_i(node, "transB", 0) != 0,
        },
        "ReduceMean" => Op::ReduceMean {
            axes: node
                .attribute
                .iter()
                .find(|a| a.name == "axes")
                .map(|a| a.ints.clone())
                .unwrap_or_default(),
            keep_dims: attr_i(node, "keepdims", 1) != 0,
        },
        "Clip" if node.attribute.is_empty() => Op::Clip,
        "Concat" => Op::Concat {
            axis: attr_i(node, "axis", 0),
        },
        other => return Err(format!("operator `{other}` is not supported")),
    })
}

fn tensor_of(proto: &TensorProto) -> Result<Tensor, String> {
    let shape = proto
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("`{}` has dimension {d}", proto.name)))
        .collect::<Result<Vec<_>, _>>()?;
    let data: Vec<f32> = match proto.data_type {
        onnx::FLOAT if !proto.raw_data.is_empty() => proto
            .raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        onnx::FLOAT => proto.float_data.clone(),
        // Axes of ReduceMean from opset 18 on: small integers, exact in f32.
        onnx::INT64 if !proto.raw_data.is_empty() => proto
            .raw_data
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap_or_default()) as f32)
            .collect(),
        onnx::INT64 => proto.int64_data.iter().map(|&x| x as f32).collect(),
        other => {
            return Err(format!(
                "`{}` has element type {other}; only float32 is supported",
                proto.name
            ));
        }
    };
    Tensor::new(shape, data).map_err(|e| format!("`{}`: {e}", proto.name))
}

impl Graph {
    pub fn from_model(model: &ModelProto) -> Result<Graph, String> {
        let graph: &GraphProto = model.graph.as_ref().ok_or("the model has no graph")?;
        let mut constants = HashMap::new();
        for init in &graph.initializer {
            constants.insert(init.name.clone(), tensor_of(init)?);
        }
        let inputs = graph
            .input
            .iter()
            .filter(|i| !constants.contains_key(&i.name))
            .map(|i| (i.name.clone(), i.dims()))
            .collect();
        let outputs: Vec<String> = graph.output.iter().map(|o| o.name.clone()).collect();
        if outputs.is_empty() {
            return Err("the graph has no outputs".into());
        }
        let mut last_reader = HashMap::new();
        for (i, n) in graph.node.iter().enumerate() {
            for input in &n.input {
                last_reader.insert(input.as_str(), i);
            }
        }
        let nodes = graph
            .node
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let frees = n
                    .input
                    .iter()
                    .filter(|name| {
                        last_reader.get(name.as_str()) == Some(&i)
                            && !constants.contains_key(*name)
                            && !outputs.contains(name)
                    })
                    .cloned()
                    .collect();
                Ok(Node {
                    name: n.name.clone(),
                    op: op_of(n)?,
                    inputs: n.input.clone(),
                    outputs: n.output.clone(),
                    frees,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Graph {
            inputs,
            outputs,
            nodes,
            constants,
        })
    }

    /// Runs the graph on its inputs, by name; returns its outputs in declared order.
    pub fn run(
        &self,
        mut values: HashMap<String, Tensor>,
    ) -> Result<Vec<(String, Tensor)>, String> {
        for (name, dims) in &self.inputs {
            let given = values
                .get(name)
                .ok_or_else(|| format!("missing input `{name}`"))?;
            let fits = given.shape.len() == dims.len()
                && dims
                    .iter()
                    .zip(&given.shape)
                    .all(|(want, got)| want.is_none_or(|w| w == *got));
            if !fits {
                return Err(format!(
                    "input `{name}` has shape {:?}, the model expects {dims:?}",
                    given.shape
                ));
            }
        }
        for node in &self.nodes {
            let get = |ix: usize| -> Result<Option<&Tensor>, String> {
                match node.inputs.get(ix).map(String::as_str) {
                    None | Some("") => Ok(None),
                    Some(name) => values
                        .get(name)
                        .or_else(|| self.constants.get(name))
                        .map(Some)
                        .ok_or_else(|| {
                            format!("node `{}` reads `{name}` before it is computed", node.name)
                        }),
                }
            };
            let need = |ix: usize| -> Result<&Tensor, String> {
                get(ix)?.ok_or_else(|| format!("node `{}` lacks input {ix}", node.name))
            };
            let out = match &node.op {
                Op::Unary(op) => unary(*op, need(0)?),
                Op::Binary(op) => binary(*op, need(0)?, need(1)?)?,
                Op::Gemm {
                    alpha,
                    beta,
                    trans_a,
                    trans_b,
                } => gemm(
                    need(0)?,
                    need(1)?,
                    get(2)?,
                    *alpha,
                    *beta,
                    *trans_a,
                    *trans_b,
                )?,
                Op::ReduceMean { axes, keep_dims } => {
                    let axes: Vec<i64> = match (axes.is_empty(), get(1)?) {
                        (true, Some(t)) => t.data.iter().map(|&a| a as i64).collect(),
                        _ => axes.clone(),
                    };
                    reduce_mean(need(0)?, &axes, *keep_dims)?
                }
                Op::Clip => {
                    let lo = get(1)?.map(|t| t.scalar("Clip's min")).transpose()?;
                    let hi = get(2)?.map(|t| t.scalar("Clip's max")).transpose()?;
                    let x = need(0)?;
                    let lo = lo.unwrap_or(f32::NEG_INFINITY);
                    let hi = hi.unwrap_or(f32::INFINITY);
                    Tensor {
                        shape: x.shape.clone(),
                        // As `v.max(lo).min(hi)` (NaN becomes `lo`), without a libm call per element.
                        data: x
                            .data
                            .iter()
                            .map(|&v| {
                                let v = if v > lo { v } else { lo };
                                if v < hi { v } else { hi }
                            })
                            .collect(),
                    }
                }
                Op::Concat { axis } => {
                    let parts = (0..node.inputs.len())
                        .map(need)
                        .collect::<Result<Vec<_>, _>>()?;
                    concat(&parts, *axis)?
                }
            };
            let name = node
                .outputs
                .first()
                .ok_or_else(|| format!("node `{}` has no output", node.name))?;
            values.insert(name.clone(), out);
            for done in &node.frees {
                values.remove(done);
            }
        }
        self.outputs
            .iter()
            .map(|name| {
                values
                    .remove(name)
                    .map(|t| (name.clone(), t))
                    .ok_or_else(|| format!("the graph never computes its output `{name}`"))
            })
            .collect()
    }
}

fn unary(op: Unary, x: &Tensor) -> Tensor {
    // One closure per operator, so that each loop is compiled for it (no call through a
    // pointer per element).
    match op {
        Unary::Abs => map(x, f32::abs),
        // Comparisons, not `f32::max`, which wasm32 compiles to a call of `fmaxf` per
        // element; the same results, NaN included (it becomes 0).
        Unary::Relu => map(x, |v| if v > 0.0 { v } else { 0.0 }),
        // ln(1 + e^v) without overflow for large v.
        Unary::Softplus => map(x, |v| {
            if v > 0.0 {
                v + (-v).exp().ln_1p()
            } else {
                v.exp().ln_1p()
            }
        }),
        Unary::Sqrt => map(x, f32::sqrt),
    }
}

fn map(x: &Tensor, f: impl Fn(f32) -> f32) -> Tensor {
    Tensor {
        shape: x.shape.clone(),
        data: x.data.iter().map(|&v| f(v)).collect(),
    }
}

/// Numpy broadcasting of two shapes.
fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| {
        let pad = rank - s.len();
        if i < pad { 1 } else { s[i - pad] }
    };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            _ => Err(format!("shapes {a:?} and {b:?} do not broadcast")),
        })
        .collect()
}

/// Element strides of `shape` read as `out` (0 along broadcast dimensions).
fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let pad = out.len() - shape.len();
    let mut strides = vec![0; out.len()];
    let mut stride = 1;
    for i in (0..shape.len()).rev() {
        strides[pad + i] = if shape[i] == 1 { 0 } else { stride };
        stride *= shape[i];
    }
    strides
}

fn binary(op: Binary, a: &Tensor, b: &Tensor) -> Result<Tensor, String> {
    match op {
        Binary::Add => broadcast(a, b, |x, y| x + y),
        Binary::Sub => broadcast(a, b, |x, y| x - y),
        Binary::Mul => broadcast(a, b, |x, y| x * y),
        Binary::Div => broadcast(a, b, |x, y| x / y),
    }
}

/// `f` elementwise under numpy broadcasting, a whole run of the last dimension at a
/// time: the inner loops are plain loops over slices, and only the outer dimensions step
/// an index.
fn broadcast(a: &Tensor, b: &Tensor, f: impl Fn(f32, f32) -> f32) -> Result<Tensor, String> {
    if a.shape == b.shape {
        return Ok(Tensor {
            shape: a.shape.clone(),
            data: a.data.iter().zip(&b.data).map(|(&x, &y)| f(x, y)).collect(),
        });
    }
    let shape = broadcast_shape(&a.shape, &b.shape)?;
    let (sa, sb) = (
        broadcast_strides(&a.shape, &shape),
        broadcast_strides(&b.shape, &shape),
    );
    let len: usize = shape.iter().product();
    let Some((&run, outer)) = shape.split_last() else {
        // Two scalars.
        return Ok(Tensor {
            shape,
            data: vec![f(a.data[0], b.data[0])],
        });
    };
    let mut data = Vec::with_capacity(len);
    if len == 0 {
        return Ok(Tensor { shape, data });
    }
    let last = outer.len();
    let mut index = vec![0usize; outer.len()];
    let (mut ia, mut ib) = (0usize, 0usize);
    for _ in 0..len / run {
        // Along the last dimension each side either moves one element per step or
        // repeats one (stride 0).
        match (sa[last], sb[last]) {
            (0, 0) => data.extend(std::iter::repeat_n(f(a.data[ia], b.data[ib]), run)),
            (0, _) => {
                let x = a.data[ia];
                data.extend(b.data[ib..ib + run].iter().map(|&y| f(x, y)));
            }
            (_, 0) => {
                let y = b.data[ib];
                data.extend(a.data[ia..ia + run].iter().map(|&x| f(x, y)));
            }
            _ => data.extend(
                a.data[ia..ia + run]
                    .iter()
                    .zip(&b.data[ib..ib + run])
                    .map(|(&x, &y)| f(x, y)),
            ),
        }
        // Advance the outer multi-index like an odometer, keeping both offsets in step.
        for d in (0..last).rev() {
            index[d] += 1;
            ia += sa[d];
            ib += sb[d];
            if index[d] < shape[d] {
                break;
            }
            ia -= sa[d] * shape[d];
            ib -= sb[d] * shape[d];
            index[d] = 0;
        }
    }
    Ok(Tensor { shape, data })
}

fn matrix(t: &Tensor, transpose: bool, what: &str) -> Result<(usize, usize, Vec<f32>), String> {
    let [rows, cols] = t.shape[..] else {
        return Err(format!(
            "Gemm's {what} must be a matrix, not shape {:?}",
            t.shape
        ));
    };
    if !transpose {
        return Ok((rows, cols, t.data.clone()));
    }
    let mut out = vec![0.0; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = t.data[r * cols + c];
        }
    }
    Ok((cols, rows, out))
}

/// Outputs of a Gemm row computed together: four 128-bit vectors of sums.
const TILE: usize = 16;
/// Rows of A computed together, so that each part of B that is read serves all of them.
const ROWS: usize = 2;
/// Steps along A's rows per iteration of the Gemm's inner loop.
const UNROLL: usize = 4;

fn gemm(
    a: &Tensor,
    b: &Tensor,
    c: Option<&Tensor>,
    alpha: f32,
    beta: f32,
    trans_a: bool,
    trans_b: bool,
) -> Result<Tensor, String> {
    let (m, k, a) = matrix(a, trans_a, "A")?;
    let (k2, n, b) = matrix(b, trans_b, "B")?;
    if k != k2 {
        return Err(format!("Gemm multiplies {m}x{k} by {k2}x{n}"));
    }
    // B's columns regrouped TILE at a time, each group row after row, so that the loops
    // below read it front to back with no index arithmetic.
    let mut panels = Vec::with_capacity(k * (n - n % TILE));
    for t in 0..n / TILE {
        for b_row in b.chunks_exact(n) {
            panels.extend_from_slice(&b_row[t * TILE..][..TILE]);
        }
    }
    let product = Product {
        panels: &panels,
        b: &b,
        k,
        n,
    };
    let mut out = vec![0.0f32; m * n];
    // With k = 0 every output is an empty sum, 0.
    if k > 0 && n > 0 {
        let mut out_blocks = out.chunks_exact_mut(ROWS * n);
        let mut a_blocks = a.chunks_exact(ROWS * k);
        for (out_block, a_block) in (&mut out_blocks).zip(&mut a_blocks) {
            product.rows::<ROWS>(a_block, out_block);
        }
        for (out_row, a_row) in out_blocks
            .into_remainder()
            .chunks_exact_mut(n)
            .zip(a_blocks.remainder().chunks_exact(k))
        {
            product.rows::<1>(a_row, out_row);
        }
    }
    if alpha != 1.0 {
        out.iter_mut().for_each(|v| *v *= alpha);
    }
    let mut out = Tensor {
        shape: vec![m, n],
        data: out,
    };
    if let Some(c) = c {
        let scaled = Tensor {
            shape: c.shape.clone(),
            data: c.data.iter().map(|&v| v * beta).collect(),
        };
        out = binary(Binary::Add, &out, &scaled)?;
        if out.shape != [m, n] {
            return Err(format!(
                "Gemm's C of shape {:?} does not fit {m}x{n}",
                c.shape
            ));
        }
    }
    Ok(out)
}

/// B of a Gemm, laid out for [`Product::rows`].
struct Product<'a> {
    /// Columns of B in groups of TILE (see [`gemm`]).
    panels: &'a [f32],
    /// B itself, for the columns after the last whole group.
    b: &'a [f32],
    k: usize,
    n: usize,
}

impl Product<'_> {
    /// `R` rows of A (`a`, row-major) times B into `R` rows of the output. Each output
    /// adds its products in order along A's row, whatever the tiling, so the results are
    /// those of the plain sum bit for bit.
    fn rows<const R: usize>(&self, a: &[f32], out: &mut [f32]) {
        let (k, n) = (self.k, self.n);
        // The R rows' values interleaved, one array per step along the rows.
        let columns: Vec<[f32; R]> = (0..k)
            .map(|p| std::array::from_fn(|r| a[r * k + p]))
            .collect();
        for (t, panel) in self.panels.chunks_exact(k * TILE).enumerate() {
            let mut sums = [[0.0f32; TILE]; R];
            // UNROLL steps per loop iteration: the sandbox checks its deadline once per
            // iteration of every loop, which costs as much as a step's arithmetic.
            let mut b_parts = panel.chunks_exact(UNROLL * TILE);
            let mut x_parts = columns.chunks_exact(UNROLL);
            for (b_part, xs) in (&mut b_parts).zip(&mut x_parts) {
                for (b, x) in b_part.chunks_exact(TILE).zip(xs) {
                    add_products(&mut sums, b, x);
                }
            }
            for (b, x) in b_parts
                .remainder()
                .chunks_exact(TILE)
                .zip(x_parts.remainder())
            {
                add_products(&mut sums, b, x);
            }
            for (r, row_sums) in sums.iter().enumerate() {
                out[r * n + t * TILE..][..TILE].copy_from_slice(row_sums);
            }
        }
        let done = n - n % TILE;
        for r in 0..R {
            for j in done..n {
                out[r * n + j] = (0..k).fold(0.0, |s, p| s + a[r * k + p] * self.b[p * n + j]);
            }
        }
    }
}

/// One step along A's rows: each row's value times B's part, added to that row's sums.
#[inline(always)]
fn add_products<const R: usize>(sums: &mut [[f32; TILE]; R], b: &[f32], xs: &[f32; R]) {
    for (row_sums, &x) in sums.iter_mut().zip(xs) {
        for (s, &y) in row_sums.iter_mut().zip(b) {
            *s += x * y;
        }
    }
}

fn axis_index(axis: i64, rank: usize) -> Result<usize, String> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if (0..r).contains(&a) {
        Ok(a as usize)
    } else {
        Err(format!("axis {axis} is out of range for rank {rank}"))
    }
}

fn reduce_mean(x: &Tensor, axes: &[i64], keep_dims: bool) -> Result<Tensor, String> {
    let rank = x.shape.len();
    let mut reduced = vec![axes.is_empty(); rank];
    for &a in axes {
        reduced[axis_index(a, rank)?] = true;
    }
    let kept: Vec<usize> = x
        .shape
        .iter()
        .zip(&reduced)
        .map(|(&d, &r)| if r { 1 } else { d })
        .collect();
    let mut sums = vec![0.0f64; kept.iter().product()];
    // Reducing trailing axes only (a window's mean, say): each sum is one contiguous run.
    let leading = reduced.iter().take_while(|r| !**r).count();
    if reduced[leading..].iter().all(|r| *r) && !sums.is_empty() {
        let run = x.data.len() / sums.len();
        for (sum, chunk) in sums.iter_mut().zip(x.data.chunks_exact(run.max(1))) {
            *sum = chunk.iter().fold(0.0, |s, &v| s + f64::from(v));
        }
    } else {
        let strides = broadcast_strides(&kept, &x.shape);
        let mut index = vec![0usize; rank];
        let mut at = 0usize;
        for &v in &x.data {
            sums[at] += f64::from(v);
            for d in (0..rank).rev() {
                index[d] += 1;
                at += strides[d];
                if index[d] < x.shape[d] {
                    break;
                }
                at -= strides[d] * x.shape[d];
                index[d] = 0;
            }
        }
    }
    let count = (x.data.len() / sums.len().max(1)).max(1) as f64;
    let shape = if keep_dims {
        kept
    } else {
        kept.iter()
            .zip(&reduced)
            .filter(|(_, r)| !**r)
            .map(|(&d, _)| d)
            .collect()
    };
    Tensor::new(shape, sums.iter().map(|s| (s / count) as f32).collect())
}

fn concat(parts: &[&Tensor], axis: i64) -> Result<Tensor, String> {
    let first = parts.first().ok_or("Concat needs inputs")?;
    let rank = first.shape.len();
    let axis = axis_index(axis, rank)?;
    let outer: usize = first.shape[..axis].iter().product();
    let mut shape = first.shape.clone();
    shape[axis] = 0;
    for p in parts {
        let same = p.shape.len() == rank
            && p.shape
                .iter()
                .zip(&first.shape)
                .enumerate()
                .all(|(i, (a, b))| i == axis || a == b);
        if !same {
            return Err(format!(
                "Concat along axis {axis} of shapes {:?} and {:?}",
                first.shape, p.shape
            ));
        }
        shape[axis] += p.shape[axis];
    }
    let mut data = Vec::with_capacity(shape.iter().product());
    for o in 0..outer {
        for p in parts {
            let chunk = p.data.len() / outer.max(1);
            data.extend_from_slice(&p.data[o * chunk..(o + 1) * chunk]);
        }
    }
    Tensor::new(shape, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], data: &[f32]) -> Tensor {
        Tensor::new(shape.to_vec(), data.to_vec()).unwrap()
    }

    #[test]
    fn broadcasting_follows_numpy() {
        let a = t(&[2, 3], &[1., 2., 3., 4., 5., 6.]);
        let col = t(&[2, 1], &[10., 20.]);
        let row = t(&[3], &[1., 0., -1.]);
        assert_eq!(
            binary(Binary::Sub, &a, &col).unwrap(),
            t(&[2, 3], &[-9., -8., -7., -16., -15., -14.])
        );
        assert_eq!(
            binary(Binary::Mul, &a, &row).unwrap(),
            t(&[2, 3], &[1., 0., -3., 4., 0., -6.])
        );
        assert!(binary(Binary::Add, &a, &t(&[2], &[1., 2.])).is_err());
    }

    #[test]
    fn gemm_with_transposes_and_bias() {
        let a = t(&[2, 2], &[1., 2., 3., 4.]);
        let b = t(&[2, 2], &[5., 6., 7., 8.]);
        let c = t(&[2], &[1., -1.]);
        assert_eq!(
            gemm(&a, &b, Some(&c), 1.0, 1.0, false, false).unwrap(),
            t(&[2, 2], &[20., 21., 44., 49.])
        );
        // Aᵀ·Bᵀ = (B·A)ᵀ
        assert_eq!(
            gemm(&a, &b, None, 2.0, 1.0, true, true).unwrap(),
            t(&[2, 2], &[2. * 23., 2. * 31., 2. * 34., 2. * 46.])
        );
    }

    #[test]
    fn tiled_gemm_equals_the_plain_sum_in_order() {
        // 19 columns: one tile of 16 and a remainder of 3.
        let (m, k, n) = (3, 5, 19);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let out = gemm(
            &t(&[m, k], &a),
            &t(&[k, n], &b),
            None,
            1.0,
            1.0,
            false,
            false,
        )
        .unwrap();
        for i in 0..m {
            for j in 0..n {
                let mut sum = 0.0f32;
                for p in 0..k {
                    sum += a[i * k + p] * b[p * n + j];
                }
                assert_eq!(out.data[i * n + j].to_bits(), sum.to_bits(), "({i}, {j})");
            }
        }
    }

    #[test]
    fn broadcasting_in_three_dimensions() {
        let a = t(&[2, 1, 3], &[1., 2., 3., 4., 5., 6.]);
        let b = t(&[2, 1], &[10., 20.]);
        assert_eq!(
            binary(Binary::Add, &a, &b).unwrap(),
            t(
                &[2, 2, 3],
                &[11., 12., 13., 21., 22., 23., 14., 15., 16., 24., 25., 26.]
            )
        );
        assert_eq!(
            binary(Binary::Div, &t(&[], &[6.]), &t(&[], &[3.])).unwrap(),
            t(&[], &[2.])
        );
        assert_eq!(
            binary(Binary::Mul, &t(&[0, 3], &[]), &t(&[3], &[1., 2., 3.])).unwrap(),
            t(&[0, 3], &[])
        );
    }

    #[test]
    fn reduce_mean_and_concat() {
        let a = t(&[2, 3], &[1., 2., 3., 4., 5., 6.]);
        assert_eq!(reduce_mean(&a, &[1], true).unwrap(), t(&[2, 1], &[2., 5.]));
        assert_eq!(
            reduce_mean(&a, &[0], false).unwrap(),
            t(&[3], &[2.5, 3.5, 4.5])
        );
        assert_eq!(reduce_mean(&a, &[], false).unwrap(), t(&[], &[3.5]));
        let b = t(&[2, 1], &[7., 8.]);
        assert_eq!(
            concat(&[&a, &b], -1).unwrap(),
            t(&[2, 4], &[1., 2., 3., 7., 4., 5., 6., 8.])
        );
        assert!(concat(&[&a, &t(&[3, 1], &[0.; 3])], 1).is_err());
    }

    #[test]
    fn softplus_is_stable() {
        let x = t(&[3], &[-100., 0., 100.]);
        let y = unary(Unary::Softplus, &x);
        assert!(y.data[0] >= 0.0 && y.data[0] < 1e-30);
        assert!((y.data[1] - std::f32::consts::LN_2).abs() < 1e-7);
        assert_eq!(y.data[2], 100.0);
    }
}
