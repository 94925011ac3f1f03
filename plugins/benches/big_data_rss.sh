#!/usr/bin/env bash
# Reproduces the `### Peak host memory of a module with a 400 MiB data segment` numbers in
# docs/benchmarks.md: the peak RSS of `gantry plugin run` on a module whose one data
# segment fills 400 MiB of memory, refused under the default limits and run under
# --memory-mib 512 (first run compiles, second loads the module cache), measured with
# GNU time. PEER=path/to/another/gantry measures that binary in the same run.
#
#   cargo build -p gantry
#   plugins/benches/big_data_rss.sh
set -euo pipefail

target=${CARGO_TARGET_DIR:-target}
gantry=${GANTRY:-$target/debug/gantry}
[ -x "$gantry" ] || { echo "missing $gantry (see the header of $0)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work/big.wasm" <<'PY'
import sys
def leb(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)
def section(id, body):
    return bytes([id]) + leb(len(body)) + body
mib = 400
with open(sys.argv[1], "wb") as f:
    f.write(b"\0asm\1\0\0\0")
    f.write(section(1, b"\x01\x60\x00\x00"))              # type () -> ()
    f.write(section(3, b"\x01\x00"))                      # one function
    f.write(section(5, b"\x01\x00" + leb(mib * 16)))      # memory of 400 MiB
    f.write(section(7, b"\x02\x06memory\x02\x00\x06_start\x00\x00"))
    f.write(section(10, b"\x01\x02\x00\x0b"))             # _start: nothing
    header = b"\x01\x00\x41\x00\x0b" + leb(mib << 20)     # one segment at 0
    f.write(b"\x0b" + leb(len(header) + (mib << 20)) + header)
    chunk = b"a" * (1 << 20)
    for _ in range(mib):
        f.write(chunk)
PY
printf '[plugins]\nmodule_mib = 512\n' > "$work/config.toml"

measure() {
  local label=$1 bin=$2
  shift 2
  local home="$work/home-$label"
  mkdir -p "$home"
  for run in "$@"; do
    read -r -a args <<< "$run"
    GANTRY_CACHE_DIR="$home/cache" GANTRY_PLUGIN_DIR="$home/plugins" XDG_CONFIG_HOME="$home" \
      /usr/bin/time -f "$label | $run | %M KiB | exit %x | %e s" \
      "$bin" "${args[@]}" > /dev/null 2> "$work/err" || true
    tail -1 "$work/err"
  done
}
runs=(
  "plugin run $work/big.wasm"
  "--config $work/config.toml plugin run $work/big.wasm"
  "--config $work/config.toml plugin run $work/big.wasm --memory-mib 512 --timeout 120s"
  "--config $work/config.toml plugin run $work/big.wasm --memory-mib 512 --timeout 120s"
)
measure gantry "$gantry" "${runs[@]}"
if [ -n "${PEER:-}" ]; then
  measure peer "$PEER" "${runs[@]}"
fi
