#!/usr/bin/env bash
# Regenerates the Prometheus fixtures of tests/forecast.rs from a real Prometheus:
# backfills a NAB series into a TSDB with `promtool tsdb create-blocks-from openmetrics`,
# serves it with Debian's `prometheus` (2.42) on 127.0.0.1, and saves the responses of
#
#   tests/fixtures/forecast/prometheus_query_range.json   one series, the whole NAB file
#   tests/fixtures/forecast/prometheus_two_series.json    two series over one hour
#
# Usage: tests/forecast/prometheus_fixture.sh   (needs prometheus, promtool, curl, python3)
set -euo pipefail
cd "$(dirname "$0")/../.."

SOURCE=tests/fixtures/forecast/ec2_cpu_utilization_5f5533.csv
OUT=tests/fixtures/forecast
work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; wait "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

# OpenMetrics: the CPU series as it is, and a second series (half of it) so that a
# query can match two.
python3 - "$SOURCE" > "$work/data.om" <<'PY'
import csv, sys, datetime
rows = list(csv.DictReader(open(sys.argv[1])))
print("# HELP nab_cpu_utilization EC2 CPU utilisation (NAB ec2_cpu_utilization_5f5533)")
print("# TYPE nab_cpu_utilization gauge")
for r in rows:
    t = int(datetime.datetime.fromisoformat(r["timestamp"]).replace(tzinfo=datetime.timezone.utc).timestamp())
    v = float(r["value"])
    print(f'nab_cpu_utilization{{instance="i-5f5533",job="nab"}} {v} {t}')
    print(f'nab_cpu_utilization{{instance="i-5f5533-half",job="nab"}} {v / 2} {t}')
print("# EOF")
PY
promtool tsdb create-blocks-from openmetrics "$work/data.om" "$work/tsdb" > /dev/null

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'global:\n  scrape_interval: 1h\n' > "$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" \
  > "$work/prometheus.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/-/ready" > /dev/null && break
  sleep 0.2
done

range() {
  curl -fsG "http://127.0.0.1:$port/api/v1/query_range" \
    --data-urlencode "query=$1" --data-urlencode "start=$2" --data-urlencode "end=$3" \
    --data-urlencode "step=300"
}
# The NAB file's first and last samples (Unix seconds).
read -r first last < <(python3 - "$SOURCE" <<'PY'
import csv, sys, datetime
rows = list(csv.DictReader(open(sys.argv[1])))
ts = [int(datetime.datetime.fromisoformat(r["timestamp"]).replace(tzinfo=datetime.timezone.utc).timestamp()) for r in rows]
print(ts[0], ts[-1])
PY
)
range 'nab_cpu_utilization{instance="i-5f5533"}' "$first" "$last" > "$OUT/prometheus_query_range.json"
range 'nab_cpu_utilization' "$first" "$((first + 3600))" > "$OUT/prometheus_two_series.json"
python3 - "$OUT/prometheus_query_range.json" "$OUT/prometheus_two_series.json" <<'PY'
import json, sys
for path in sys.argv[1:]:
    doc = json.load(open(path))
    assert doc["status"] == "success", doc
    print(path, [len(s["values"]) for s in doc["data"]["result"]], "samples")
PY
