#!/usr/bin/env bash
# A local Kubernetes control plane for gantry's tests and benchmarks.
#
#   tests/k8s/cluster.sh build   build what is missing (etcd, kube-apiserver,
#                                kube-controller-manager, kube-scheduler, kubectl, kwok)
#   tests/k8s/cluster.sh up      build what is missing, start everything on 127.0.0.1,
#                                wait until ready, print `export KUBECONFIG=PATH`
#   tests/k8s/cluster.sh down    stop what `up` started (by PID)
#   tests/k8s/cluster.sh env     print the exports for a running cluster
#
# With GANTRY_K8S_OWNER_PID set, `up` also starts a watchdog that runs `down` once
# that process has exited (the test suites use it so that no process outlives them).
#
# Binaries are built from the Go module proxy into
# ${XDG_CACHE_HOME:-$HOME/.cache}/gantry/k8s/<version>/bin and reused.
# The cluster's state (certificates, etcd data, logs, PIDs, kubeconfigs) lives in
# GANTRY_K8S_RUN_DIR (default: the cache dir's run/); several run dirs give several
# independent clusters. Calling `up` on a running cluster only prints the exports.
#
# Kubeconfigs written to the run dir:
#   kubeconfig          user `admin` (static token, cluster-admin)
#   kubeconfig-limited  user `limited` (static token, may only get/list/watch
#                       deployments in namespace default; no scale)
# Pods run on a simulated node (`kwok-node-0`, driven by kwok), which makes them
# Running and Ready without containers.
set -euo pipefail

K8S_VERSION=v1.37.2
STAGING_VERSION=v0.37.2
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/gantry/k8s"
ROOT="$CACHE/$K8S_VERSION"
BIN="$ROOT/bin"
RUN="${GANTRY_K8S_RUN_DIR:-$CACHE/run}"
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"

log() { echo "cluster.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

need() { command -v "$1" >/dev/null 2>&1 || die "$1 is needed ($2)"; }

# What the binaries in $BIN were built from and how; a change rebuilds them all.
BUILD_ID="kubernetes $K8S_VERSION, kwok $KWOK_VERSION, etcd $ETCD_VERSION, unoptimised"

gobuild() {
    # Static, stripped, reproducible binaries; nice'd because the machine is shared.
    # Unoptimised (-N -l): a quarter less CPU to build, which is most of a cold CI's
    # Go time, and the tests' control plane handles a few requests a second.
    CGO_ENABLED=0 GOFLAGS=-mod=mod nice -n 10 go build -trimpath -gcflags='all=-N -l' "$@"
}

# Kubernetes and kwok in one module and one `go build`, so that they share one compile
# of the client libraries; kwok builds against Kubernetes' versions of them.
build_k8s() {
    local dir="$ROOT/src/kubernetes"
    mkdir -p "$dir" "$BIN"
    cd "$dir"
    local gomod
    gomod="$(GOFLAGS= go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
    [ -f "$gomod" ] || die "could not download k8s.io/kubernetes@$K8S_VERSION"
    {
        echo "module gantry.test/k8s-build"
        echo
        echo "go 1.26.0"
        echo
        echo "require ("
        printf '\tk8s.io/kubernetes %s\n\tsigs.k8s.io/kwok %s\n' "$K8S_VERSION" "$KWOK_VERSION"
        echo ")"
        echo
        echo "replace ("
        # Every staging module k8s.io/kubernetes replaces with ./staging/..., pinned to
        # the matching published version.
        sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\t\1 => \1 '"$STAGING_VERSION"'#p' "$gomod"
        echo ")"
    } >go.mod
    local pkgs=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
        k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
    # Each at its pinned version: a bare `go get` would upgrade kwok to its latest.
    GOFLAGS= go get "${pkgs[@]/%/@$K8S_VERSION}" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >/dev/null
    local v=k8s.io/component-base/version
    local cv=k8s.io/client-go/pkg/version
    local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
    local x="-X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
    x="$x -X $cv.gitVersion=$K8S_VERSION -X $cv.gitMajor=1 -X $cv.gitMinor=$minor"
    gobuild -ldflags "-s -w $x" -o "$BIN/" "${pkgs[@]}" sigs.k8s.io/kwok/cmd/kwok
    # kwok has no built-in stages since v0.8: its own "fast" ones (nodes Ready at once,
    # heartbeats by lease; pods Ready at once, completed, deleted), from its module.
    local kwok_dir stage
    kwok_dir="$(go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
    for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
        pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
        echo "---"
        cat "$kwok_dir/kustomize/stage/$stage.yaml"
    done >"$BIN/kwok-stages.yaml"
}

build_etcd() {
    local dir="$ROOT/src/etcd"
    mkdir -p "$dir" "$BIN"
    cd "$dir"
    printf 'module gantry.test/etcd-build\n\ngo 1.26.0\n' >go.mod
    GOFLAGS= go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null
    gobuild -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3
}

cmd_build() {
    need go "install Go 1.26 or newer"
    local start=$SECONDS
    if [ "$(cat "$BIN/build-id" 2>/dev/null)" != "$BUILD_ID" ]; then
        rm -rf "$BIN"
    fi
    if [ ! -x "$BIN/kube-apiserver" ] || [ ! -x "$BIN/kube-controller-manager" ] ||
        [ ! -x "$BIN/kube-scheduler" ] || [ ! -x "$BIN/kubectl" ] || [ ! -x "$BIN/kwok" ] ||
        [ ! -f "$BIN/kwok-stages.yaml" ]; then
        log "building Kubernetes $K8S_VERSION (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl) and kwok $KWOK_VERSION"
        (build_k8s)
    fi
    if [ ! -x "$BIN/etcd" ]; then
        log "building etcd $ETCD_VERSION"
        (build_etcd)
    fi
    echo "$BUILD_ID" >"$BIN/build-id"
    if [ $((SECONDS - start)) -gt 1 ]; then
        log "built in $((SECONDS - start)) s into $BIN"
    fi
}

alive() { [ -f "$RUN/pids/$1" ] && kill -0 "$(cat "$RUN/pids/$1")" 2>/dev/null; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Ports are picked below the range the kernel gives the local ends of outgoing
# connections: a port nothing listens on may be taken by such a connection before the
# server binds it, as a kube-scheduler once found. They are also written, with the time,
# to a list every cluster of this user reads, so that two clusters started at once skip
# each other's ports before either binds them; entries older than ten minutes are dropped.
free_port() {
    local p first=10000 last=32767 ephemeral now ports="$CACHE/ports"
    read -r ephemeral _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || ephemeral=32768
    if [ "$ephemeral" -gt $((first + 1000)) ]; then
        last=$((ephemeral - 1))
    fi
    mkdir -p "$CACHE"
    exec 8>>"$ports.lock"
    flock 8
    now=$(date +%s)
    touch "$ports"
    awk -v since=$((now - 600)) '$2 >= since' "$ports" >"$ports.new"
    mv "$ports.new" "$ports"
    for _ in $(seq 1 200); do
        p=$((first + RANDOM % (last - first + 1)))
        if port_free "$p" && ! grep -q "^$p " "$ports"; then
            echo "$p $now" >>"$ports"
            exec 8>&-
            echo "$p"
            return
        fi
    done
    die "no free port found on 127.0.0.1"
}

# Starts a process in the background with its log in the run dir and its PID recorded.
start() {
    local name=$1
    shift
    nohup "$@" >"$RUN/logs/$name.log" 2>&1 </dev/null 9>&- &
    echo $! >"$RUN/pids/$name"
}

kubectl_admin() { "$BIN/kubectl" --kubeconfig "$RUN/kubeconfig" "$@"; }

wait_for() {
    local what=$1 seconds=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "$what not ready after ${seconds}s (logs in $RUN/logs)"
        for name in $(ls "$RUN/pids"); do
            alive "$name" || die "$name exited: $(tail -n 3 "$RUN/logs/$name.log" 2>/dev/null)"
        done
        sleep 0.5
    done
}

make_pki() {
    local pki="$RUN/pki"
    mkdir -p "$pki"
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=gantry-test-ca" \
        -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
        -keyout apiserver.key -out apiserver.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >apiserver.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    local admin limited
    admin="$(openssl rand -hex 16)"
    limited="$(openssl rand -hex 16)"
    # token,user,uid,"group1,group2"
    {
        echo "$admin,admin,admin,\"system:masters\""
        echo "$limited,limited,limited"
    } >tokens.csv
    echo "$admin" >admin.token
    echo "$limited" >limited.token
    cd - >/dev/null
}

write_kubeconfig() {
    local file=$1 user=$2 token=$3
    cat >"$file" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: gantry-test
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $RUN/pki/ca.crt
users:
- name: $user
  user:
    token: $token
contexts:
- name: gantry-test-$user
  context:
    cluster: gantry-test
    user: $user
    namespace: default
current-context: gantry-test-$user
KUBECONFIG
    chmod 600 "$file"
}

print_env() {
    echo "export KUBECONFIG=$RUN/kubeconfig"
    echo "export PATH=\"$BIN:\$PATH\""
}

healthy() {
    alive etcd && alive kube-apiserver && alive kube-controller-manager && alive kube-scheduler &&
        alive kwok && [ -f "$RUN/kubeconfig" ] && kubectl_admin get --raw /readyz >/dev/null 2>&1
}

cmd_up() {
    need openssl "apt-get install openssl"
    mkdir -p "$RUN"
    exec 9>"$RUN/lock"
    flock 9
    if healthy; then
        print_env
        return
    fi
    cmd_build
    stop_all
    rm -rf "$RUN/etcd" "$RUN/pki" "$RUN/logs" "$RUN/pids" "$RUN"/kubeconfig*
    mkdir -p "$RUN/logs" "$RUN/pids"
    # A start that fails half-way stops what it started: nothing follows the owner yet.
    trap stop_all EXIT
    make_pki
    local etcd_client etcd_peer
    etcd_client=$(free_port)
    etcd_peer=$(free_port)
    APISERVER_PORT=$(free_port)
    echo "$APISERVER_PORT" >"$RUN/apiserver.port"
    write_kubeconfig "$RUN/kubeconfig" admin "$(cat "$RUN/pki/admin.token")"
    write_kubeconfig "$RUN/kubeconfig-limited" limited "$(cat "$RUN/pki/limited.token")"

    log "starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok in $RUN"
    start etcd "$BIN/etcd" --name gantry-test --data-dir "$RUN/etcd" \
        --listen-client-urls "http://127.0.0.1:$etcd_client" \
        --advertise-client-urls "http://127.0.0.1:$etcd_client" \
        --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
        --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
        --initial-cluster "gantry-test=http://127.0.0.1:$etcd_peer" \
        --unsafe-no-fsync --quota-backend-bytes 1073741824 --log-level warn
    start kube-apiserver "$BIN/kube-apiserver" \
        --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
        --etcd-servers "http://127.0.0.1:$etcd_client" \
        --tls-cert-file "$RUN/pki/apiserver.crt" --tls-private-key-file "$RUN/pki/apiserver.key" \
        --client-ca-file "$RUN/pki/ca.crt" --token-auth-file "$RUN/pki/tokens.csv" \
        --authorization-mode RBAC \
        --service-account-issuer https://kubernetes.default.svc \
        --service-account-key-file "$RUN/pki/sa.pub" \
        --service-account-signing-key-file "$RUN/pki/sa.key" \
        --service-cluster-ip-range 10.96.0.0/16 --allow-privileged=true \
        --endpoint-reconciler-type none
    wait_for kube-apiserver 120 kubectl_admin get --raw /readyz
    start kube-controller-manager "$BIN/kube-controller-manager" \
        --kubeconfig "$RUN/kubeconfig" --authentication-kubeconfig "$RUN/kubeconfig" \
        --authorization-kubeconfig "$RUN/kubeconfig" --bind-address 127.0.0.1 \
        --secure-port "$(free_port)" --leader-elect=false \
        --service-account-private-key-file "$RUN/pki/sa.key" --root-ca-file "$RUN/pki/ca.crt"
    start kube-scheduler "$BIN/kube-scheduler" \
        --kubeconfig "$RUN/kubeconfig" --authentication-kubeconfig "$RUN/kubeconfig" \
        --authorization-kubeconfig "$RUN/kubeconfig" --bind-address 127.0.0.1 \
        --secure-port "$(free_port)" --leader-elect=false
    start kwok "$BIN/kwok" --kubeconfig "$RUN/kubeconfig" --config "$BIN/kwok-stages.yaml" --manage-all-nodes=true \
        --server-address "127.0.0.1:$(free_port)" --node-lease-duration-seconds 40

    kubectl_admin apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations:
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/hostname: kwok-node-0
    kubernetes.io/os: linux
    type: kwok
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: read-deployments
  namespace: default
rules:
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: limited-read-deployments
  namespace: default
subjects:
- kind: User
  name: limited
  apiGroup: rbac.authorization.k8s.io
roleRef:
  kind: Role
  name: read-deployments
  apiGroup: rbac.authorization.k8s.io
YAML
    wait_for "the simulated node" 60 node_ready
    wait_for "the default service account" 60 kubectl_admin -n default get serviceaccount default
    if [ -n "${GANTRY_K8S_OWNER_PID:-}" ]; then
        # Tests pass their PID: the cluster goes down when they exit, however they exit.
        nohup bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" down' \
            watchdog "$GANTRY_K8S_OWNER_PID" "$SELF" >"$RUN/logs/watchdog.log" 2>&1 </dev/null 9>&- &
        echo $! >"$RUN/pids/watchdog"
    fi
    trap - EXIT
    log "ready"
    print_env
}

node_ready() {
    [ "$(kubectl_admin get node kwok-node-0 -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]
}

stop_all() {
    local name pid
    [ -d "$RUN/pids" ] || return 0
    for name in watchdog kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
        [ -f "$RUN/pids/$name" ] || continue
        pid=$(cat "$RUN/pids/$name")
        # The watchdog runs `down` as itself.
        if [ "$pid" != $$ ] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$RUN/pids/$name"
    done
}

cmd_down() {
    [ -d "$RUN" ] || return 0
    exec 9>"$RUN/lock"
    flock 9
    stop_all
    log "stopped"
}

case "${1:-}" in
build) cmd_build ;;
up) cmd_up ;;
down) cmd_down ;;
env)
    healthy || die "no cluster is running in $RUN; run: $0 up"
    print_env
    ;;
*) die "usage: $0 up|down|build|env" ;;
esac
