"""Trains gantry's bundled load forecaster and exports it to ONNX.

The model reads the last WINDOW samples of a metric and a horizon (in steps) and
predicts the p50 and the p90 of the peak (the maximum) over the next `horizon`
samples. It is an MLP trained with numpy (hand-written Adam on the pinball loss);
normalisation happens inside the exported graph, so one model serves requests/s,
CPU % and bytes alike.

Reproduce the committed model (seeded; same numbers on the same numpy build):

    python3 -m pip install -r wasm-guest/inference/training/requirements.txt
    python3 wasm-guest/inference/training/train.py

Data: the NAB series in `../shared/data/nab` relative to the repository root
(`--data DIR` to point elsewhere). Split: whole series are held out for evaluation
(HELD_OUT); the others are split in time, the first 80% for training and the last
20% for validation (early stopping).
"""

import argparse
import csv
import json
import pathlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WINDOW = 288  # one day of 5-minute samples
MAX_HORIZON = 72  # six hours of 5-minute samples
HIDDEN = 64
QUANTILES = (0.5, 0.9)
# Normalised targets beyond this are bursts out of nowhere (a disk series waking up
# after hours at zero): no window predicts them, and unclipped they dominate the loss.
TARGET_CLIP = (-10.0, 30.0)
INPUT_CLIP = 10.0
# Whole series kept out of training, one per kind of metric.
HELD_OUT = (
    "elb_request_count_8c0756",
    "ec2_cpu_utilization_5f5533",
    "ec2_network_in_257a54",
    "ec2_disk_write_bytes_c0d644",
)
SEED = 20260101
MODEL_NAME = "gantry-forecaster"
MODEL_VERSION = "1.0.0"

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent


def load_series(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return np.array([float(r["value"]) for r in rows], dtype=np.float64)


def normalise(windows):
    """The same arithmetic as the ONNX graph: centre on the window mean, divide by the
    window's standard deviation floored at 1% of its mean absolute value."""
    loc = windows.mean(axis=1, keepdims=True)
    d = windows - loc
    var = (d * d).mean(axis=1, keepdims=True)
    floor = 0.01 * np.abs(windows).mean(axis=1, keepdims=True)
    scale = np.sqrt(var + floor * floor + 1e-12)
    z = np.clip(d / scale, -INPUT_CLIP, INPUT_CLIP)
    return z, loc, scale


def examples(series, start, stop, rng, per_origin=1):
    """Windows ending at every origin in [start, stop) with random horizons."""
    xs, hs, ys = [], [], []
    for origin in range(max(start, WINDOW), stop):
        for _ in range(per_origin):
            h = int(rng.integers(1, MAX_HORIZON + 1))
            if origin + h > len(series):
                continue
            xs.append(series[origin - WINDOW : origin])
            hs.append(h)
            ys.append(series[origin : origin + h].max())
    return np.array(xs), np.array(hs, dtype=np.float64)[:, None], np.array(ys)[:, None]


def softplus(x):
    return np.logaddexp(0.0, x)


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class Mlp:
    def __init__(self, rng):
        n_in = WINDOW + 1

        def dense(i, o):
            return rng.normal(0.0, np.sqrt(2.0 / i), size=(i, o)), np.zeros(o)

        self.p = {}
        self.p["w1"], self.p["b1"] = dense(n_in, HIDDEN)
        self.p["w2"], self.p["b2"] = dense(HIDDEN, HIDDEN)
        self.p["w3"], self.p["b3"] = dense(HIDDEN, 2)
        self.p["w3"] *= 0.1
        self.m = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.v = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.t = 0

    def forward(self, z, h):
        p = self.p
        inp = np.concatenate([z, h / MAX_HORIZON], axis=1)
        a1 = inp @ p["w1"] + p["b1"]
        h1 = np.maximum(a1, 0.0)
        a2 = h1 @ p["w2"] + p["b2"]
        h2 = np.maximum(a2, 0.0)
        o = h2 @ p["w3"] + p["b3"]
        q50 = o[:, :1]
        q90 = q50 + softplus(o[:, 1:])
        cache = (inp, a1, h1, a2, h2, o)
        return q50, q90, cache

    def step(self, z, h, y, lr):
        q50, q90, (inp, a1, h1, a2, h2, o) = self.forward(z, h)
        n = len(y)
        loss, g50, g90 = 0.0, None, None
        for tau, q in zip(QUANTILES, (q50, q90)):
            e = y - q
            loss += np.mean(np.maximum(tau * e, (tau - 1.0) * e))
            # d pinball / d q = -(tau) if e > 0 else (1 - tau)
            g = np.where(e > 0, -tau, 1.0 - tau) / n
            if g50 is None:
                g50 = g
            else:
                g90 = g
        go = np.empty_like(o)
        go[:, :1] = g50 + g90
        go[:, 1:] = g90 * sigmoid(o[:, 1:])
        p = self.p
        grads = {"w3": h2.T @ go, "b3": go.sum(0)}
        gh2 = go @ p["w3"].T * (a2 > 0)
        grads["w2"], grads["b2"] = h1.T @ gh2, gh2.sum(0)
        gh1 = gh2 @ p["w2"].T * (a1 > 0)
        grads["w1"], grads["b1"] = inp.T @ gh1, gh1.sum(0)
        self.adam(grads, lr)
        return loss

    def adam(self, grads, lr, b1=0.9, b2=0.999, eps=1e-8, wd=1e-5):
        self.t += 1
        for k, g in grads.items():
            g = g + wd * self.p[k]
            self.m[k] = b1 * self.m[k] + (1 - b1) * g
            self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
            mh = self.m[k] / (1 - b1**self.t)
            vh = self.v[k] / (1 - b2**self.t)
            self.p[k] -= lr * mh / (np.sqrt(vh) + eps)

    def loss(self, z, h, y):
        q50, q90, _ = self.forward(z, h)
        total = 0.0
        for tau, q in zip(QUANTILES, (q50, q90)):
            e = y - q
            total += np.mean(np.maximum(tau * e, (tau - 1.0) * e))
        return total


def to_onnx(params, path):
    f = lambda name, arr: numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name)
    w3, b3 = params["w3"], params["b3"]
    inits = [
        f("w1", params["w1"]),
        f("b1", params["b1"]),
        f("w2", params["w2"]),
        f("b2", params["b2"]),
        f("w3_p50", w3[:, :1]),
        f("b3_p50", b3[:1]),
        f("w3_spread", w3[:, 1:]),
        f("b3_spread", b3[1:]),
        f("floor_ratio", 0.01),
        f("eps", 1e-12),
        f("clip_lo", -INPUT_CLIP),
        f("clip_hi", INPUT_CLIP),
        f("max_horizon", float(MAX_HORIZON)),
    ]
    n = helper.make_node
    nodes = [
        n("ReduceMean", ["window"], ["loc"], axes=[1], keepdims=1),
        n("Sub", ["window", "loc"], ["centred"]),
        n("Mul", ["centred", "centred"], ["sq"]),
        n("ReduceMean", ["sq"], ["var"], axes=[1], keepdims=1),
        n("Abs", ["window"], ["abs"]),
        n("ReduceMean", ["abs"], ["abs_mean"], axes=[1], keepdims=1),
        n("Mul", ["abs_mean", "floor_ratio"], ["floor"]),
        n("Mul", ["floor", "floor"], ["floor_sq"]),
        n("Add", ["var", "floor_sq"], ["var_floored"]),
        n("Add", ["var_floored", "eps"], ["var_eps"]),
        n("Sqrt", ["var_eps"], ["scale"]),
        n("Div", ["centred", "scale"], ["z_raw"]),
        n("Clip", ["z_raw", "clip_lo", "clip_hi"], ["z"]),
        n("Div", ["horizon", "max_horizon"], ["h"]),
        n("Concat", ["z", "h"], ["features"], axis=1),
        n("Gemm", ["features", "w1", "b1"], ["a1"]),
        n("Relu", ["a1"], ["h1"]),
        n("Gemm", ["h1", "w2", "b2"], ["a2"]),
        n("Relu", ["a2"], ["h2"]),
        n("Gemm", ["h2", "w3_p50", "b3_p50"], ["q50"]),
        n("Gemm", ["h2", "w3_spread", "b3_spread"], ["spread_raw"]),
        n("Softplus", ["spread_raw"], ["spread"]),
        n("Add", ["q50", "spread"], ["q90"]),
        n("Mul", ["q50", "scale"], ["q50_scaled"]),
        n("Add", ["q50_scaled", "loc"], ["p50"]),
        n("Mul", ["q90", "scale"], ["q90_scaled"]),
        n("Add", ["q90_scaled", "loc"], ["p90"]),
    ]
    graph = helper.make_graph(
        nodes,
        "forecaster",
        [
            helper.make_tensor_value_info("window", TensorProto.FLOAT, ["N", WINDOW]),
            helper.make_tensor_value_info("horizon", TensorProto.FLOAT, ["N", 1]),
        ],
        [
            helper.make_tensor_value_info("p50", TensorProto.FLOAT, ["N", 1]),
            helper.make_tensor_value_info("p90", TensorProto.FLOAT, ["N", 1]),
        ],
        inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 13)],
        producer_name="gantry-train",
        doc_string=(
            "p50 and p90 of the peak of the next `horizon` samples (1..=%d) after a window "
            "of the last %d samples; scale-free" % (MAX_HORIZON, WINDOW)
        ),
    )
    model.ir_version = 8
    helper.set_model_props(
        model,
        {"name": MODEL_NAME, "version": MODEL_VERSION, "window": str(WINDOW), "max_horizon": str(MAX_HORIZON)},
    )
    onnx.checker.check_model(model)
    onnx.save(model, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=pathlib.Path, default=REPO.parent / "shared" / "data" / "nab")
    ap.add_argument("--out", type=pathlib.Path, default=HERE.parent / "model" / "forecaster.onnx")
    ap.add_argument("--epochs", type=int, default=40)
    args = ap.parse_args()

    files = sorted(args.data.glob("*.csv"))
    if not files:
        sys.exit(f"no CSV series in {args.data}; pass --data DIR")
    rng = np.random.default_rng(SEED)
    train_names = [p.stem for p in files if p.stem not in HELD_OUT]
    series = {p.stem: load_series(p) for p in files}
    missing = [name for name in HELD_OUT if name not in series]
    if missing:
        sys.exit(f"held-out series missing from {args.data}: {missing}")

    def build(part, per_origin):
        parts = []
        for name in train_names:
            s = series[name]
            cut = int(len(s) * 0.8)
            start, stop = (0, cut) if part == "train" else (cut, len(s))
            # Validation windows may reach back into the training part, but their
            # targets lie entirely after the cut.
            parts.append(examples(s, start, stop, rng, per_origin))
        x, h, y = (np.concatenate(a) for a in zip(*parts))
        z, loc, scale = normalise(x)
        yn = np.clip((y - loc) / scale, *TARGET_CLIP)
        return z, h, yn

    zv, hv, yv = build("valid", 2)
    model = Mlp(rng)
    best = (np.inf, None, -1)
    for epoch in range(args.epochs):
        zt, ht, yt = build("train", 1)  # fresh horizons every epoch
        order = rng.permutation(len(yt))
        lr = 1e-3 if epoch < args.epochs * 0.6 else 3e-4
        losses = []
        for i in range(0, len(order), 256):
            b = order[i : i + 256]
            losses.append(model.step(zt[b], ht[b], yt[b], lr))
        val = model.loss(zv, hv, yv)
        print(f"epoch {epoch:2d} train {np.mean(losses):.4f} valid {val:.4f}", flush=True)
        if val < best[0]:
            best = (val, {k: v.copy() for k, v in model.p.items()}, epoch)
    print(f"best epoch {best[2]} valid pinball {best[0]:.4f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    to_onnx(best[1], args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    print(json.dumps({"train": train_names, "held_out": list(HELD_OUT)}))


if __name__ == "__main__":
    main()
