#!/usr/bin/env bash
# The least linear-memory cap (MiB) under which the inference guest (gantry infer) and
# the forecaster guest (gantry forecast) still succeed: their peak memory, to the MiB.
# Bisects `--memory-mib` between 1 and 128.
#
#   tests/onnx/guest_memory.sh [GANTRY_BINARY]
set -euo pipefail
cd "$(dirname "$0")/../.."
gantry=${1:-target/release/gantry}

least() { # least() CMD... with MIB substituted for the cap
  local lo=1 hi=128
  "$@" 128 >/dev/null 2>&1 || { echo "fails even at 128 MiB" >&2; return 1; }
  while [ $lo -lt $hi ]; do
    local mid=$(((lo + hi) / 2))
    if "$@" $mid >/dev/null 2>&1; then hi=$mid; else lo=$((mid + 1)); fi
  done
  echo $lo
}
infer() { "$gantry" infer wasm-guest/forecaster/model/forecaster.onnx --input tests/fixtures/onnx/forecaster.input.json --memory-mib "$1"; }
forecast() { "$gantry" forecast --metrics "$METRICS" ${BACKTEST:+--backtest} --memory-mib "$1"; }
echo "gantry infer forecaster.onnx (4 windows): $(least infer) MiB"
METRICS=examples/metrics/requests.csv
echo "gantry forecast requests.csv: $(least forecast) MiB"
echo "gantry forecast requests.csv --backtest (795 origins): $(BACKTEST=1 least forecast) MiB"
if [ -f ../shared/data/nab/cpu_utilization_asg_misconfiguration.csv ]; then
  METRICS=../shared/data/nab/cpu_utilization_asg_misconfiguration.csv
  echo "gantry forecast --backtest on 18050 samples (3599 origins): $(BACKTEST=1 least forecast) MiB"
fi
