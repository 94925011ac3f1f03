#!/usr/bin/env bash
# Per-window latency of the bundled forecaster, same model and inputs, same run:
#   guest   the inference guest in gantry's sandbox (tract-onnx, wasm32-wasip1 + simd128)
#   native  the same guest code built for the host (native tract-onnx)
#   ort     onnxruntime (Python, one thread)
# for one window per call and for 256 windows per call (what a backtest does).
#
#   tests/onnx/bench_inference.sh [GANTRY_BINARY] [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
gantry=${1:-target/release/gantry}
iterations=${2:-2000}
model=$PWD/wasm-guest/forecaster/model/forecaster.onnx
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$tmp" <<'PY'
import json, sys
doc = json.load(open("tests/fixtures/onnx/forecaster.input.json"))
w, h = doc["window"], doc["horizon"]
one = {"window": {"shape": [1, 288], "data": w["data"][:288]}, "horizon": {"shape": [1, 1], "data": [12.0]}}
json.dump(one, open(f"{sys.argv[1]}/b1.json", "w"))
rows = [w["data"][(i % 4) * 288:(i % 4 + 1) * 288] for i in range(256)]
many = {"window": {"shape": [256, 288], "data": [x for r in rows for x in r]},
        "horizon": {"shape": [256, 1], "data": [12.0] * 256}}
json.dump(many, open(f"{sys.argv[1]}/b256.json", "w"))
PY

host=$(rustc -vV | sed -n 's/^host: //p')
target_dir=${CARGO_TARGET_DIR:-$PWD/target}/native-guest
# Thin codegen settings keep this build to minutes; tract's kernels are the same either way.
cargo build --quiet --release --manifest-path wasm-guest/Cargo.toml -p gantry-inference \
  --target "$host" --target-dir "$target_dir" \
  --config profile.release.lto=false --config profile.release.codegen-units=16
native=$target_dir/$host/release/gantry-inference

for batch in 1 256; do
  n=$iterations
  [ "$batch" = 256 ] && n=$((iterations / 10))
  input=$tmp/b$batch.json
  guest=$("$gantry" plugin run inference --grant-read "$(dirname "$model")" -- bench "$model" "$n" < "$input")
  nat=$("$native" bench "$model" "$n" < "$input")
  ort=$(python3 tests/onnx/bench_ort.py "$model" "$input" "$n")
  echo "batch $batch: guest $guest"
  echo "batch $batch: native $nat"
  echo "batch $batch: ort $ort"
done
