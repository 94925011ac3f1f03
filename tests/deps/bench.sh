#!/usr/bin/env bash
# Benchmarks of `gantry deps-audit` against the peers, in one run (docs/benchmarks.md).
#   tests/deps/bench.sh target/release/gantry
# Needs hyperfine, GNU time, go, cargo, python3, and the live registries for the cold runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
GANTRY=$(realpath "${1:?usage: tests/deps/bench.sh GANTRY_BINARY}")
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT
P=tests/fixtures/deps/projects
OSV=../shared/data/osv
rss() { /usr/bin/time -f "peak RSS %M KiB: $*" "$@" >/dev/null 2>>"$WORK/rss.txt" || true; }

echo "== Go: gantry cold (empty cache, live proxy) vs go list -m -u -json all (warm module cache), go-hugo (361 modules)"
cp -r "$P/go-hugo" "$WORK/hugo"
(cd "$WORK/hugo" && GOFLAGS=-mod=mod go list -m -u -json all >/dev/null)   # warms the module cache
hyperfine -N --warmup 1 --runs 5 --prepare "rm -rf $WORK/cache" \
  "env GANTRY_CACHE_DIR=$WORK/cache $GANTRY deps-audit $WORK/hugo -o json --osv-db $OSV/Go/all.zip" \
  "env -C $WORK/hugo GOFLAGS=-mod=mod go list -m -u -json all"
rm -rf "$WORK/cache"
rss env GANTRY_CACHE_DIR="$WORK/cache" "$GANTRY" deps-audit "$WORK/hugo" -o json --osv-db "$OSV/Go/all.zip"
rss env -C "$WORK/hugo" GOFLAGS=-mod=mod go list -m -u -json all

echo "== Cargo: gantry warm (within freshness) vs cold, cargo-starship-v4 (441 packages, live index)"
rm -rf "$WORK/cache"
hyperfine -N --warmup 1 --runs 10 \
  "env GANTRY_CACHE_DIR=$WORK/cache $GANTRY deps-audit $P/cargo-starship-v4 -o json --osv-db $OSV/crates.io/all.zip"
hyperfine -N --runs 3 --prepare "rm -rf $WORK/cold" \
  "env GANTRY_CACHE_DIR=$WORK/cold $GANTRY deps-audit $P/cargo-starship-v4 -o json --osv-db $OSV/crates.io/all.zip"
rss env GANTRY_CACHE_DIR="$WORK/cache" "$GANTRY" deps-audit "$P/cargo-starship-v4" -o json --osv-db "$OSV/crates.io/all.zip"

echo "== Loopback replay: cargo-starship-v4 (441 packages), empty cache each run"
python3 tests/deps/record.py --gantry "$GANTRY" --out "$WORK/v4.jsonl.gz" "$P/cargo-starship-v4"
python3 tests/deps/replay.py --port 18181 "$WORK/v4.jsonl.gz" & sleep 1
hyperfine -N --warmup 1 --runs 10 --prepare "rm -rf $WORK/replay-cache" \
  "env GANTRY_CACHE_DIR=$WORK/replay-cache $GANTRY deps-audit $P/cargo-starship-v4 -o json --cargo-index http://127.0.0.1:18181/cargo/ --osv-db $OSV/crates.io/all.zip"
rm -rf "$WORK/replay-cache"
rss env GANTRY_CACHE_DIR="$WORK/replay-cache" "$GANTRY" deps-audit "$P/cargo-starship-v4" -o json --cargo-index http://127.0.0.1:18181/cargo/ --osv-db "$OSV/crates.io/all.zip"

echo "== OSV: the full Go database (4,291 advisories) against none, go-hugo, warm cache"
mkdir -p "$WORK/no-advisories"
hyperfine -N --warmup 2 --runs 10 \
  "env GANTRY_CACHE_DIR=$WORK/cache $GANTRY deps-audit $WORK/hugo -o json --osv-db $WORK/no-advisories" \
  "env GANTRY_CACHE_DIR=$WORK/cache $GANTRY deps-audit $WORK/hugo -o json --osv-db $OSV/Go/all.zip"
rss env GANTRY_CACHE_DIR="$WORK/cache" "$GANTRY" deps-audit "$WORK/hugo" -o json --osv-db "$WORK/no-advisories"
rss env GANTRY_CACHE_DIR="$WORK/cache" "$GANTRY" deps-audit "$WORK/hugo" -o json --osv-db "$OSV/Go/all.zip"

echo "== Peak RSS"
cat "$WORK/rss.txt"
