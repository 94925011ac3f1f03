"""Times onnxruntime on one model and input, the peer of the inference guest's `bench`
command in docs/benchmarks.md. Prints the same JSON fields.

    python3 tests/onnx/bench_ort.py MODEL.onnx INPUT.json ITERATIONS
"""

import json
import sys
import time

import numpy as np
import onnxruntime as ort


def main():
    model, inputs, iterations = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(inputs) as f:
        doc = json.load(f)
    feed = {k: np.asarray(v["data"], dtype=np.float32).reshape(v["shape"]) for k, v in doc.items()}
    opts = ort.SessionOptions()
    # One thread, like the guest (wasm32-wasip1 has no threads).
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    start = time.perf_counter()
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    load = time.perf_counter() - start
    sess.run(None, feed)
    runs = []
    for _ in range(iterations):
        t = time.perf_counter()
        sess.run(None, feed)
        runs.append((time.perf_counter() - t) * 1e6)
    runs.sort()
    print(json.dumps({
        "load_ms": load * 1e3,
        "iterations": iterations,
        "mean_us": sum(runs) / len(runs),
        "p50_us": runs[len(runs) // 2],
        "min_us": runs[0],
    }))


if __name__ == "__main__":
    main()
