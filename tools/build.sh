#!/usr/bin/env bash
# Build the local control-plane binaries (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, etcd, kwok, metacontroller) and the real node's
# (kubelet, kube-proxy, coredns) from the Go module proxy into a cache directory
# outside the repo, building only what is missing.
#
#   BIN=$(bash tools/build.sh | tail -1)          # everything
#   BIN=$(bash tools/build.sh kwok etcd | tail -1) # only some components
#
# Components (arguments; default: all, in this order):
#   kube-apiserver kube-controller-manager kube-scheduler kubectl etcd
#   kwok kwok-stages kubelet kube-proxy coredns metacontroller metacontroller-crds
#   (kubelet, kube-proxy and coredns are the real node's: localcluster/realnode.py)
# Logs go to stderr; the last line of stdout is the cache dir.
# NOTE: metacontroller and metacontroller-crds fail for now: that module is not on
# the proxy (see README.md). Pass the other components explicitly.
# Cache dir: ${RBG_BIN_CACHE:-$HOME/.cache/rbg/bin}/<key>, key = versions + hash
# of the tools modules' go.mod/go.sum (and coredns/main.go) and the build flags. See README.md.
set -euo pipefail

TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0
# Builds verify against the committed go.sum files and never edit them.
export GOFLAGS=-mod=readonly

log() { printf '[build.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null || die "go not found in PATH"

# --- versions, read from the tools modules' go.mod files ----------------------
modver() { # modver <go.mod> <module path>: version in the require block
    awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$1"
}
K8S_VERSION=$(modver "$TOOLS/k8s/go.mod" k8s.io/kubernetes)
ETCD_VERSION=$(modver "$TOOLS/k8s/go.mod" go.etcd.io/etcd/server/v3)
KWOK_VERSION=$(modver "$TOOLS/kwok/go.mod" sigs.k8s.io/kwok)
# Metacontroller is required at a dummy version and replaced by a pseudo-version;
# its human-readable tag is the "Metacontroller vX.Y.Z" named in the header.
MC_VERSION=$(grep -o -m1 'Metacontroller v[0-9][0-9.]*' "$TOOLS/metacontroller/go.mod" | awk '{print $2}')
for v in K8S_VERSION ETCD_VERSION KWOK_VERSION MC_VERSION; do
    [[ -n ${!v} ]] || die "could not read $v from tools/*/go.mod"
done
K8S_MINOR=${K8S_VERSION#v1.}; K8S_MINOR=${K8S_MINOR%%.*}

# --- build flags (part of the cache key) --------------------------------------
K8S_TAGS=selinux,notest,grpcnotrace
K8S_LDFLAGS="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    K8S_LDFLAGS+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$K8S_MINOR"
    K8S_LDFLAGS+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done
LDFLAGS="-s -w"
# CoreDNS's main package is in this repo (tools/coredns): without this, go stamps the repo's
# commit and dirty state into it and the binary changes with every commit.
COREDNS_FLAGS=-buildvcs=false

# --- cache dir -----------------------------------------------------------------
hash_inputs() {
    local m f
    for m in k8s kwok metacontroller coredns; do
        for f in go.mod go.sum main.go; do
            [[ $f != main.go || $m == coredns ]] || continue
            printf '%s/%s\n' "$m" "$f"
            if [[ -f $TOOLS/$m/$f ]]; then cat "$TOOLS/$m/$f"; else echo "<missing>"; fi
        done
    done
    printf 'k8s-tags=%s\nk8s-ldflags=%s\nldflags=%s\ncoredns=%s\n' "$K8S_TAGS" "$K8S_LDFLAGS" "$LDFLAGS" "$COREDNS_FLAGS"
}
HASH=$(hash_inputs | sha256sum | cut -c1-12)
KEY="k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION-mc-$MC_VERSION-$HASH"
OUT="${RBG_BIN_CACHE:-$HOME/.cache/rbg/bin}/$KEY"
mkdir -p "$OUT"
log "cache dir: $OUT"

# Temp outputs live in $OUT (same filesystem, so rename is atomic); removed on exit.
TMPS=()
CURRENT="" # the step running now, named in the failure message
on_exit() {
    local rc=$? t
    for t in "${TMPS[@]+"${TMPS[@]}"}"; do rm -rf -- "$t"; done
    if ((rc != 0)); then
        log "FAILED${CURRENT:+ in step '$CURRENT'} (exit $rc); the error is above"
    fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TOTAL_START=$SECONDS
# step <name> <target> <function> [args...]: skip if target exists, else time it.
step() {
    local name=$1 target=$2 start
    shift 2
    if [[ -e $OUT/$target ]]; then
        log "$name: cached ($OUT/$target)"
        return 0
    fi
    log "$name: building ..."
    CURRENT=$name
    start=$SECONDS
    "$@"
    CURRENT=""
    log "$name: done in $((SECONDS - start))s"
}

# gobuild <module dir> <binary name> <package> [go build flags...]
gobuild() {
    local dir=$1 name=$2 pkg=$3 tmp
    shift 3
    tmp="$OUT/.$name.tmp.$$"
    TMPS+=("$tmp")
    (cd "$TOOLS/$dir" && go build -trimpath "$@" -o "$tmp" "$pkg")
    mv -f -- "$tmp" "$OUT/$name"
}

k8s_build() { # k8s_build <binary name>
    gobuild k8s "$1" "k8s.io/kubernetes/cmd/$1" -tags="$K8S_TAGS" -ldflags "$K8S_LDFLAGS"
}

moddir() { # moddir <module dir> <module path>: where the module's source sits
    (cd "$TOOLS/$1" && go mod download "$2" && go list -m -f '{{.Dir}}' "$2")
}

# copy_files <dest (dir, created atomically)> <src dir> <relative paths...>
copy_files() {
    local dest=$1 src=$2 tmp f
    shift 2
    tmp="$OUT/.$(basename "$dest").tmp.$$"
    TMPS+=("$tmp")
    rm -rf -- "$tmp"
    mkdir -p "$tmp"
    for f in "$@"; do
        [[ -f $src/$f ]] || die "missing $src/$f"
        cp -- "$src/$f" "$tmp/"
    done
    chmod -R u+w "$tmp" # module cache files are read-only
    mv -T -- "$tmp" "$dest"
}

kwok_stages() {
    local dir
    dir=$(moddir kwok sigs.k8s.io/kwok)
    copy_files "$OUT/kwok-stages" "$dir/kustomize/stage" \
        node/fast/node-initialize.yaml \
        node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
        pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml
}

metacontroller_crds() {
    local dir
    dir=$(moddir metacontroller metacontroller)
    copy_files "$OUT/metacontroller-crds" "$dir/deploy/helm/metacontroller/crds" \
        metacontroller-crds-v1.yaml
}

run_component() {
    case $1 in
    kube-apiserver | kube-controller-manager | kube-scheduler | kubectl | kubelet | kube-proxy)
        step "$1" "$1" k8s_build "$1" ;;
    coredns)
        step coredns coredns gobuild coredns coredns rbg.local/tools/coredns "$COREDNS_FLAGS" -ldflags "$LDFLAGS" ;;
    etcd)
        step etcd etcd gobuild k8s etcd go.etcd.io/etcd/server/v3 -ldflags "$LDFLAGS" ;;
    kwok)
        step kwok kwok gobuild kwok kwok sigs.k8s.io/kwok/cmd/kwok -ldflags "$LDFLAGS" ;;
    kwok-stages)
        step kwok-stages kwok-stages kwok_stages ;;
    metacontroller | metacontroller-crds)
        [[ -f $TOOLS/metacontroller/go.sum ]] ||
            die "$1: tools/metacontroller/go.sum is missing: the module did not resolve through the Go module proxy (see tools/README.md)"
        ;;&
    metacontroller)
        step metacontroller metacontroller gobuild metacontroller metacontroller \
            metacontroller/pkg/cmd/metacontroller -ldflags "$LDFLAGS" ;;
    metacontroller-crds)
        step metacontroller-crds metacontroller-crds metacontroller_crds ;;
    *) die "unknown component '$1'" ;;
    esac
}

if (($# == 0)); then
    set -- kube-apiserver kube-controller-manager kube-scheduler kubectl etcd \
        kwok kwok-stages kubelet kube-proxy coredns metacontroller metacontroller-crds
fi
for c in "$@"; do
    run_component "$c"
done

log "all requested components present (${#} steps, $((SECONDS - TOTAL_START))s)"
echo "$OUT"
