#!/usr/bin/env bash
# Benchmarks for `gantry scale` against kubectl on the local cluster (tests/k8s/cluster.sh):
#  1. rollout: from the API server acknowledging a scale to "complete", gantry --wait vs
#     `kubectl rollout status`, both watching the same rollout in the same run;
#  2. start-up: one GET of /scale, including process start, kubeconfig and TLS
#     (hyperfine): `gantry scale --dry-run client` vs `kubectl get --raw`.
# Usage: tests/k8s/bench_scale.sh [ROUNDS]   (builds gantry --release first, unless
#        GANTRY=path/to/gantry names the binary to measure)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-10}
eval "$(tests/k8s/cluster.sh up)"
if [ -z "${GANTRY:-}" ]; then
    cargo build --release -q -p gantry
fi
gantry="${GANTRY:-${CARGO_TARGET_DIR:-target}/release/gantry}"
ns=bench-scale
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n "$ns" create deployment web --image=registry.invalid/web:1 --replicas=1 \
    --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n "$ns" rollout status deploy/web --timeout=60s >/dev/null

now() { date +%s.%N; }
g_total=0
k_total=0
for i in $(seq 1 "$rounds"); do
    kubectl -n "$ns" scale deploy/web --replicas=1 >/dev/null
    kubectl -n "$ns" rollout status deploy/web --timeout=60s >/dev/null
    kubectl -n "$ns" scale deploy/web --replicas=8 >/dev/null
    ack=$(now)
    ( "$gantry" scale deploy/web -n "$ns" --replicas 8 --wait --timeout 60s >/dev/null 2>&1; now >/tmp/bench-gantry.$$ ) &
    ( kubectl -n "$ns" rollout status deploy/web --timeout=60s >/dev/null; now >/tmp/bench-kubectl.$$ ) &
    wait
    g=$(echo "$(cat /tmp/bench-gantry.$$) - $ack" | bc -l)
    k=$(echo "$(cat /tmp/bench-kubectl.$$) - $ack" | bc -l)
    printf 'round %2d: gantry %.3f s, kubectl rollout status %.3f s\n' "$i" "$g" "$k"
    g_total=$(echo "$g_total + $g" | bc -l)
    k_total=$(echo "$k_total + $k" | bc -l)
done
rm -f /tmp/bench-gantry.$$ /tmp/bench-kubectl.$$
printf 'mean over %d rounds: gantry %.3f s, kubectl rollout status %.3f s\n' "$rounds" \
    "$(echo "$g_total / $rounds" | bc -l)" "$(echo "$k_total / $rounds" | bc -l)"

hyperfine -N --warmup 3 --runs 30 \
    "$gantry scale deploy/web -n $ns --replicas 8 --dry-run client" \
    "kubectl get --raw /apis/apps/v1/namespaces/$ns/deployments/web/scale"
