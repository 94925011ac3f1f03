#!/usr/bin/env bash
# Reproduces the `## Plugin runtime` numbers in docs/benchmarks.md: `gantry plugin run
# hello` warm and cold against `wasmtime run hello.wasm` (wasmtime-cli 48.0.8, its
# cache on), with hyperfine.
#
#   cargo build --release -p gantry
#   cargo install wasmtime-cli --version 48.0.8 --locked --root "$HOME/.cache/gantry/tools"
#   plugins/benches/runtime.sh
set -euo pipefail

target=${CARGO_TARGET_DIR:-target}
gantry=${GANTRY:-$target/release/gantry}
wasmtime=${WASMTIME:-$HOME/.cache/gantry/tools/bin/wasmtime}
hello=${HELLO:-$target/wasm-guest/wasm32-wasip1/release/hello.wasm}
for tool in "$gantry" "$wasmtime" "$hello"; do
  [ -e "$tool" ] || { echo "missing $tool (see the header of $0)" >&2; exit 2; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GANTRY_CACHE_DIR="$work/gantry-cache"
cat > "$work/wasmtime-cache.toml" <<TOML
[cache]
directory = "$work/wasmtime-cache"
TOML

"$wasmtime" --version
hyperfine --warmup 5 --min-runs 50 -N \
  -n "gantry plugin run hello (warm)" "$gantry plugin run hello -- world" \
  -n "wasmtime run hello.wasm (warm cache)" "$wasmtime run -C cache=y -C cache-config=$work/wasmtime-cache.toml $hello world"

hyperfine --min-runs 20 -N \
  --prepare "rm -rf $GANTRY_CACHE_DIR" \
  -n "gantry plugin run hello (cold: empty cache)" "$gantry plugin run hello -- world"
