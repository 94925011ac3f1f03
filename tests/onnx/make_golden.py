"""Builds the golden ONNX fixtures for `tests/inference.rs` and records onnxruntime's
outputs for them.

    python3 -m pip install -r tests/onnx/requirements.txt
    python3 tests/onnx/make_golden.py          # rewrites tests/fixtures/onnx/
    python3 tests/onnx/make_golden.py --run MODEL.onnx INPUT.json   # onnxruntime's outputs as JSON

For every model NAME it writes NAME.onnx (except the bundled forecaster, which is read
from wasm-guest/forecaster/model/), NAME.input.json (`{"input":{"shape","data"}}`) and
NAME.expected.json (onnxruntime's outputs in the shape of `gantry infer -o json`'s `outputs`). Weights
and inputs are seeded, so a rerun gives the same files on the same library versions.
"""

import csv
import json
import pathlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
OUT = REPO / "tests" / "fixtures" / "onnx"
BUNDLED = REPO / "wasm-guest" / "forecaster" / "model" / "forecaster.onnx"
EXAMPLE = REPO / "examples" / "metrics" / "requests.csv"
OPSET = 13


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name)


def save(model, name):
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, OUT / f"{name}.onnx")


def mlp(rng):
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["a1"]),
        helper.make_node("Relu", ["a1"], ["h1"]),
        helper.make_node("Gemm", ["h1", "w2", "b2"], ["a2"], transB=1),
        helper.make_node("Tanh", ["a2"], ["y"]),
        helper.make_node("Softmax", ["a2"], ["probs"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4]),
            helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 4]),
        ],
        [
            init("w1", rng.normal(size=(8, 16))),
            init("b1", rng.normal(size=16)),
            init("w2", rng.normal(size=(4, 16)) * 0.5),
            init("b2", rng.normal(size=4)),
        ],
    )
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)]), "mlp")
    return {"x": rng.normal(size=(3, 8))}


def cnn1d(rng):
    nodes = [
        helper.make_node("Conv", ["x", "k1", "c1"], ["a1"], kernel_shape=[3], pads=[1, 1]),
        helper.make_node("Relu", ["a1"], ["h1"]),
        helper.make_node("MaxPool", ["h1"], ["p1"], kernel_shape=[2], strides=[2]),
        helper.make_node("Conv", ["p1", "k2", "c2"], ["a2"], kernel_shape=[3], dilations=[2]),
        helper.make_node("Relu", ["a2"], ["h2"]),
        helper.make_node("GlobalAveragePool", ["h2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "w", "b"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "cnn1d",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [
            init("k1", rng.normal(size=(6, 2, 3)) * 0.5),
            init("c1", rng.normal(size=6) * 0.1),
            init("k2", rng.normal(size=(4, 6, 3)) * 0.5),
            init("c2", rng.normal(size=4) * 0.1),
            init("w", rng.normal(size=(4, 3))),
            init("b", rng.normal(size=3)),
        ],
    )
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)]), "cnn1d")
    return {"x": rng.normal(size=(2, 2, 32))}


def lstm(rng):
    seq, batch, inp, hidden = 10, 2, 3, 5
    nodes = [
        helper.make_node("LSTM", ["x", "W", "R", "B"], ["Y", "Y_h", "Y_c"], hidden_size=hidden),
        helper.make_node("Squeeze", ["Y_h", "axes0"], ["h"]),
        helper.make_node("Gemm", ["h", "w_out", "b_out"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "lstm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [seq, batch, inp])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 1]),
            helper.make_tensor_value_info("Y", TensorProto.FLOAT, [seq, 1, batch, hidden]),
        ],
        [
            init("W", rng.normal(size=(1, 4 * hidden, inp)) * 0.5),
            init("R", rng.normal(size=(1, 4 * hidden, hidden)) * 0.5),
            init("B", rng.normal(size=(1, 8 * hidden)) * 0.1),
            numpy_helper.from_array(np.array([0], dtype=np.int64), "axes0"),
            init("w_out", rng.normal(size=(hidden, 1))),
            init("b_out", rng.normal(size=1)),
        ],
    )
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)]), "lstm")
    return {"x": rng.normal(size=(seq, batch, inp))}


def gru(rng):
    # Input size 4: tract-onnx 0.23.9 mis-handles a GRU whose input size is 1.
    seq, batch, inp, hidden = 12, 3, 4, 6
    nodes = [
        helper.make_node(
            "GRU", ["x", "W", "R", "B"], ["Y", "Y_h"], hidden_size=hidden, linear_before_reset=1
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "gru",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [seq, batch, inp])],
        [helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, batch, hidden])],
        [
            init("W", rng.normal(size=(1, 3 * hidden, inp)) * 0.5),
            init("R", rng.normal(size=(1, 3 * hidden, hidden)) * 0.5),
            init("B", rng.normal(size=(1, 6 * hidden)) * 0.1),
        ],
    )
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)]), "gru")
    return {"x": rng.normal(size=(seq, batch, inp))}


def bundled(_rng):
    """Four windows of the example series, at three horizons."""
    with open(EXAMPLE, newline="") as f:
        values = [float(r["value"]) for r in csv.DictReader(f)]
    window = 288
    ends = [window, len(values) // 2, len(values) - 100, len(values)]
    windows = np.array([values[e - window : e] for e in ends])
    horizon = np.array([[1.0], [12.0], [36.0], [72.0]])
    return {"window": windows, "horizon": horizon}


def unsupported():
    """A tree ensemble, which tract does not implement."""
    node = helper.make_node(
        "TreeEnsembleRegressor",
        ["x"],
        ["y"],
        domain="ai.onnx.ml",
        n_targets=1,
        nodes_treeids=[0],
        nodes_nodeids=[0],
        nodes_featureids=[0],
        nodes_values=[0.0],
        nodes_modes=["LEAF"],
        nodes_truenodeids=[0],
        nodes_falsenodeids=[0],
        target_treeids=[0],
        target_nodeids=[0],
        target_ids=[0],
        target_weights=[1.0],
    )
    graph = helper.make_graph(
        [node],
        "trees",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml", 3)],
    )
    save(model, "unsupported-op")


def tensor_json(arr, dtype=np.float32):
    arr = np.asarray(arr, dtype=dtype)
    return {"shape": list(arr.shape), "data": [float(x) for x in arr.reshape(-1)]}


def run_ort(model_path, inputs):
    import onnxruntime as ort

    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    feed = {
        name: np.asarray(t["data"], dtype=np.float32).reshape(t["shape"]) for name, t in inputs.items()
    }
    names = [o.name for o in sess.get_outputs()]
    outs = sess.run(names, feed)
    return {n: tensor_json(o) for n, o in zip(names, outs)}


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--run":
        with open(sys.argv[3]) as f:
            inputs = json.load(f)
        json.dump(run_ort(sys.argv[2], inputs), sys.stdout)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    cases = {"mlp": mlp, "cnn1d": cnn1d, "lstm": lstm, "gru": gru, "forecaster": bundled}
    for name, build in cases.items():
        inputs = {k: tensor_json(v) for k, v in build(rng).items()}
        model = BUNDLED if name == "forecaster" else OUT / f"{name}.onnx"
        with open(OUT / f"{name}.input.json", "w") as f:
            json.dump(inputs, f)
        with open(OUT / f"{name}.expected.json", "w") as f:
            json.dump(run_ort(model, inputs), f)
        print(f"{name}: {model.relative_to(REPO)}")
    unsupported()
    (OUT / "not-onnx.onnx").write_text("timestamp,value\n2014-04-10 00:04:00,94.0\n")
    print("unsupported-op, not-onnx")


if __name__ == "__main__":
    main()
