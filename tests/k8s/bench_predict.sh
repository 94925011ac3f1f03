#!/usr/bin/env bash
# Benchmarks for `gantry scale --predict` (docs/benchmarks.md), each with its peer in the
# same hyperfine run, and the phases (`-vv` prints them) averaged over the runs:
#  1. predict-only from the shipped metrics file, against `gantry forecast` on that file;
#  2. predict-only from a local Prometheus (Debian's, backfilled with the NAB series of
#     tests/fixtures/forecast by promtool, shifted to end now), against curl fetching the
#     same query_range piped into `gantry forecast --metrics -`;
#  3. the apply path against the local API server (tests/k8s/cluster.sh): read, forecast
#     and a server dry-run write (so every run writes), against `gantry scale --replicas
#     N --dry-run server` (the same read and write without the forecast).
# Usage: tests/k8s/bench_predict.sh [RUNS]   (builds gantry --release first, unless
#        GANTRY=path/to/gantry names the binary to measure; needs hyperfine, prometheus,
#        promtool, curl, python3)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-30}
if [ -z "${GANTRY:-}" ]; then
    cargo build --release -q -p gantry
fi
gantry="${GANTRY:-${CARGO_TARGET_DIR:-target}/release/gantry}"
csv=examples/metrics/requests.csv
work=$(mktemp -d)
cluster_up=
trap 'kill "${pid:-}" 2>/dev/null || true; wait "${pid:-}" 2>/dev/null || true; rm -rf "$work";
      if [ -n "$cluster_up" ]; then tests/k8s/cluster.sh down >/dev/null 2>&1 || true; fi' EXIT

# Averages the `timing:` lines (`-vv`) of RUNS runs of a command, per phase.
phases() {
    for _ in $(seq 1 "$runs"); do "$@" -vv 2>&1 >/dev/null | grep '^timing:' || true; done |
        python3 -c '
import sys, collections
sums, n = collections.defaultdict(float), 0
for line in sys.stdin:
    n += 1
    for part in line.split(":", 1)[1].split(","):
        name, ms, _ = part.split()
        sums[name] += float(ms)
print("  phases (mean of %d): " % n + ", ".join("%s %.1f ms" % (k, v / n) for k, v in sums.items()))'
}

echo "== 1. predict-only from $csv"
hyperfine -N --warmup 3 --runs "$runs" \
    "$gantry scale --predict --metrics $csv --target-per-replica 100" \
    "$gantry forecast --metrics $csv"
phases "$gantry" scale --predict --metrics "$csv" --target-per-replica 100

echo "== 2. predict-only from a local Prometheus"
python3 - tests/fixtures/forecast/ec2_cpu_utilization_5f5533.csv > "$work/data.om" <<'PY'
import csv, sys, datetime, time
rows = list(csv.DictReader(open(sys.argv[1])))
ts = [int(datetime.datetime.fromisoformat(r["timestamp"]).replace(tzinfo=datetime.timezone.utc).timestamp()) for r in rows]
now = int(time.time())
shift = (now - now % 300) - ts[-1]
print("# TYPE nab_cpu_utilization gauge")
for t, r in zip(ts, rows):
    print(f'nab_cpu_utilization{{instance="i-5f5533",job="nab"}} {r["value"]} {t + shift}')
print("# EOF")
PY
promtool tsdb create-blocks-from openmetrics "$work/data.om" "$work/tsdb" > /dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'global:\n  scrape_interval: 1h\n' > "$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --storage.tsdb.retention.time=30d --web.listen-address="127.0.0.1:$port" \
    > "$work/prometheus.log" 2>&1 &
pid=$!
for _ in $(seq 150); do
    curl -fs "http://127.0.0.1:$port/-/ready" > /dev/null && break
    sleep 0.2
done
url="http://127.0.0.1:$port"
query='nab_cpu_utilization{instance="i-5f5533"}'
end=$(( $(date +%s) / 300 * 300 ))
cat > "$work/curl-forecast.sh" <<SH
curl -fsG '$url/api/v1/query_range' --data-urlencode 'query=$query' \
    --data-urlencode 'start=$((end - 14 * 86400))' --data-urlencode 'end=$end' \
    --data-urlencode 'step=300' | '$gantry' forecast --metrics - > /dev/null
SH
hyperfine -N --warmup 3 --runs "$runs" \
    "$gantry scale --predict --prometheus $url --query '$query' --target-per-replica 10" \
    "bash $work/curl-forecast.sh"
phases "$gantry" scale --predict --prometheus "$url" --query "$query" --target-per-replica 10

echo "== 3. the apply path against the local API server"
eval "$(tests/k8s/cluster.sh up)"
cluster_up=1
ns=bench-predict
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n "$ns" create deployment web --image=registry.invalid/web:1 --replicas=1 \
    --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n "$ns" rollout status deploy/web --timeout=60s >/dev/null
hyperfine -N --warmup 3 --runs "$runs" \
    "$gantry scale deploy/web -n $ns --predict --metrics $csv --target-per-replica 100 --dry-run server" \
    "$gantry scale deploy/web -n $ns --replicas 8 --dry-run server"
phases "$gantry" scale deploy/web -n "$ns" --predict --metrics "$csv" --target-per-replica 100 --dry-run server
