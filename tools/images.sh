#!/usr/bin/env bash
# Build OCI images without a container registry, from Debian packages and this repository only,
# as archives that containerd imports (`ctr -n k8s.io images import <file>`), into a cache
# directory outside the repo, building only what is missing.
#
#   OUT=$(bash tools/images.sh | tail -1)          # every image
#   OUT=$(bash tools/images.sh pause busybox | tail -1)  # only some
#
# Images (arguments; default: all, in this order):
#   static         localhost/rbg/static:bookworm          non-root base for static binaries (no shell, no libc)
#   python3        localhost/rbg/python3:3.11-bookworm    non-root Python runtime base (Debian 12's CPython 3.11, no shell)
#   python3-build  localhost/rbg/python3-build:3.11-bookworm  build base: python3, pip, a shell (for the Dockerfile's build stage)
#   busybox        localhost/rbg/busybox:<Debian's busybox-static version, e.g. 1.35>
#   pause          localhost/rbg/pause:3.10                the pod sandbox, tools/images/pause.c built with gcc -static
#   hooks          localhost/rbg/hooks:<pyproject version>  the repo's Dockerfile, its bases given as build arguments
#   metacontroller localhost/rbg/metacontroller:<binary's sha256, 12>  only when asked for: the binary
#                  $RBG_METACONTROLLER names (built by hand outside the repo) on the static base
# Logs go to stderr; the last line of stdout is a directory holding <image>.tar (OCI archives,
# gzip layers, one tag each) and images.txt ("<tag> <file>" per line).
# Needs root (mmdebstrap, buildah, chroot). Installs mmdebstrap, buildah, gcc and libc6-dev with
# apt-get when missing. Cache: ${RBG_IMAGE_CACHE:-$HOME/.cache/rbg/images}. See tools/README.md.
set -euo pipefail

TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$TOOLS/.." && pwd)
SELF="$TOOLS/images.sh"

log() { printf '[images.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

((EUID == 0)) || die "run as root: mmdebstrap and buildah build root file systems (and chroot into one)"

# --- settings (all part of the cache keys) ------------------------------------------
SUITE=bookworm
# The apt sources the root file systems come from: this machine's Debian sources by default.
# (a deb822 .sources or a one-line-style .list file), else Debian's main mirror.
if [[ -n ${RBG_APT_SOURCES:-} ]]; then
    SOURCES=$RBG_APT_SOURCES
    [[ -f $SOURCES ]] || die "RBG_APT_SOURCES=$SOURCES: no such file"
elif [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    SOURCES=/etc/apt/sources.list.d/debian.sources
elif [[ -s /etc/apt/sources.list ]]; then
    SOURCES=/etc/apt/sources.list
else
    SOURCES=http://deb.debian.org/debian
fi
# Every file of every image gets this mtime; layer tars are written in name order: same inputs,
# same bytes.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}
# Debian packages extracted (with their dependencies, no maintainer scripts run) for the
# static, python3 and busybox images; each image takes its own part of them.
EXTRACT_PKGS=base-files,ca-certificates,tzdata,netbase,python3,busybox-static
# Packages of that dependency closure left out of the python3 image: the package manager and
# what only it or maintainer scripts use, and busybox (a shell).
PYTHON3_DROP="dpkg tar debconf mawk busybox-static libmd0 libacl1"
# The python3 image keeps these packages' binaries out as well (their libraries stay).
PYTHON3_DROP_FILES="usr/bin/openssl usr/bin/c_rehash usr/sbin/update-ca-certificates"
# The build base: a full (configured) Debian system with python3 and pip.
BUILD_PKGS=python3,python3-pip,ca-certificates
# The CA bundle the hooks build's RUN steps trust (pip downloads from PyPI): this machine's.
BUILD_CA=${RBG_BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
PAUSE_VERSION=3.10
NONROOT=65532
ENV_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENV_SSL=/etc/ssl/certs/ca-certificates.crt
KEY_LABEL=io.rbg.images.key
ALL_IMAGES=(static python3 python3-build busybox pause hooks)

CACHE=${RBG_IMAGE_CACHE:-$HOME/.cache/rbg/images}
STORE=$CACHE/storage   # buildah's image store (vfs), private to this script
TARS=$CACHE/tars       # <image>-<key>.tar
WORK=$CACHE/work       # rootfs trees while building; emptied on exit
DRIVER=${RBG_BUILDAH_STORAGE_DRIVER:-vfs}
mkdir -p "$CACHE" "$TARS"

# One run at a time per cache.
exec 9>"$CACHE/.lock"
flock -n 9 || { log "waiting for another images.sh run on $CACHE ..."; flock 9; }

# --- packages a fresh machine lacks --------------------------------------------------
ensure_packages() {
    local missing=() p
    for p in mmdebstrap buildah gcc libc6-dev; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing Debian packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive nice -n 10 apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}
ensure_packages

bah() { buildah --root "$STORE" --runroot "$CACHE/run" --storage-driver "$DRIVER" "$@"; }

TMPS=()
CURRENT=""
on_exit() {
    local rc=$? t
    for t in "${TMPS[@]+"${TMPS[@]}"}"; do rm -rf -- "$t"; done
    rm -rf -- "$WORK"
    if ((rc != 0)); then
        log "FAILED${CURRENT:+ in step '$CURRENT'} (exit $rc); the error is above"
    fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
rm -rf -- "$WORK"
mkdir -p "$WORK"

# --- cache keys ------------------------------------------------------------------------
sha() { sha256sum | cut -c1-16; }
# The recipe: this script and pause.c; the apt sources; the settings above.
RECIPE=$( {
    cat "$SELF" "$TOOLS/images/pause.c"
    echo "sources=$SOURCES"; [[ ! -f $SOURCES ]] || cat "$SOURCES"
    echo "suite=$SUITE sde=$SOURCE_DATE_EPOCH driver=$DRIVER"
} | sha)
# gcc and libc versions go into the pause image's key.
toolchain() { gcc --version | head -1; dpkg-query -W -f='${Version}\n' libc6-dev; }
# What the Dockerfile's COPY lines read (.dockerignore leaves pyproject.toml and hooks/ less
# __pycache__), plus the Dockerfile and .dockerignore themselves.
hooks_inputs() {
    local f
    cd "$REPO"
    for f in Dockerfile .dockerignore pyproject.toml; do printf '%s\n' "$f"; cat "$f"; done
    find hooks -type d -name __pycache__ -prune -o -type f -print | LC_ALL=C sort | while read -r f; do
        printf '%s %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$f"
    done
}
declare -A KEY TAG
KEY[extract]=$(echo "$RECIPE extract $EXTRACT_PKGS" | sha)
KEY[static]=${KEY[extract]}
KEY[python3]=${KEY[extract]}
KEY[busybox]=${KEY[extract]}
KEY[python3-build]=$(echo "$RECIPE build $BUILD_PKGS" | sha)
KEY[pause]=$( { echo "$RECIPE pause"; toolchain; } | sha)
HOOKS_VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$REPO/pyproject.toml" | head -1)
[[ -n $HOOKS_VERSION ]] || die "no version in pyproject.toml"
TAG[static]=localhost/rbg/static:$SUITE
TAG[python3]=localhost/rbg/python3:3.11-$SUITE
TAG[python3-build]=localhost/rbg/python3-build:3.11-$SUITE
TAG[pause]=localhost/rbg/pause:$PAUSE_VERSION
TAG[hooks]=${RBG_HOOKS_TAG:-localhost/rbg/hooks:$HOOKS_VERSION}
KEY[hooks]=$( { echo "$RECIPE hooks ${TAG[hooks]} ${KEY[python3]} ${KEY[python3-build]}"; hooks_inputs; } | sha)
MC_BIN=${RBG_METACONTROLLER:-}
if [[ " $* " == *" metacontroller "* ]]; then
    [[ -x $MC_BIN ]] || die "the metacontroller image packs a binary built by hand: set RBG_METACONTROLLER=/path/to/metacontroller (README.md)"
    MC_SUM=$(sha256sum <"$MC_BIN" | cut -d' ' -f1)
    TAG[metacontroller]=localhost/rbg/metacontroller:${MC_SUM:0:12}
    KEY[metacontroller]=$(echo "$RECIPE metacontroller $MC_SUM ${KEY[static]}" | sha)
fi
# busybox: its tag names Debian's version, known once the package list is read; a cached
# archive records it beside itself.
busybox_tag() {
    local f="$TARS/busybox-${KEY[busybox]}.tag"
    [[ -f $f ]] && cat "$f"
}

tarfile() { echo "$TARS/$1-${KEY[$1]}.tar"; }

# --- helpers ---------------------------------------------------------------------------
# A tar of a directory whose bytes depend on its content only.
det_tar() { # det_tar <dir> <out.tar>
    tar --sort=name --format=pax --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
        --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
        -C "$1" -cf "$2" .
}

# /etc/passwd, /etc/group (root, nonroot 65532, nobody), nsswitch.conf, /tmp, the home dirs.
write_users() { # write_users <root> <login shell>
    local r=$1 sh=$2
    mkdir -p "$r/etc" "$r/root" "$r/home/nonroot" "$r/tmp"
    cat >"$r/etc/passwd" <<EOF
root:x:0:0:root:/root:$sh
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:$NONROOT:$NONROOT:nonroot:/home/nonroot:/sbin/nologin
EOF
    cat >"$r/etc/group" <<EOF
root:x:0:
tty:x:5:
staff:x:50:
nogroup:x:65534:
nonroot:x:$NONROOT:
EOF
    printf 'hosts: files dns\nnetworks: files\npasswd: files\ngroup: files\nshadow: files\n' >"$r/etc/nsswitch.conf"
    chmod 0700 "$r/root" "$r/home/nonroot"
    chown "$NONROOT:$NONROOT" "$r/home/nonroot"
    chmod 1777 "$r/tmp"
}

# The CA bundle that update-ca-certificates would write (every certificate ca-certificates ships).
write_ca_bundle() { # write_ca_bundle <root> <dir holding usr/share/ca-certificates>
    mkdir -p "$1/etc/ssl/certs"
    find "$2/usr/share/ca-certificates" -name '*.crt' | LC_ALL=C sort | xargs cat >"$1/etc/ssl/certs/ca-certificates.crt"
    [[ -s $1/etc/ssl/certs/ca-certificates.crt ]] || die "empty CA bundle"
}

# Debian packages' control data where scanners look for it in distroless images.
write_status() { # write_status <root> <deb>...
    local r=$1 deb pkg
    shift
    mkdir -p "$r/var/lib/dpkg/status.d"
    for deb in "$@"; do
        pkg=$(dpkg-deb -f "$deb" Package)
        { dpkg-deb -f "$deb" Package; echo "Status: install ok installed"
          dpkg-deb -f "$deb" Architecture Version Source Maintainer Depends Pre-Depends Description 2>/dev/null
        } >"$r/var/lib/dpkg/status.d/$pkg"
    done
}

# A container from scratch with <rootfs.tar> as its only layer, configured by the remaining
# buildah-config flags, committed under its tag and labelled with its key; then its archive.
commit_rootfs() { # commit_rootfs <image> <rootfs.tar> [buildah config flags...]
    local img=$1 rootfs=$2 ctr
    shift 2
    ctr=$(bah from scratch) # removed by commit --rm, or below on failure
    if ! { bah add --quiet "$ctr" "$rootfs" / >/dev/null &&
        bah config --os linux --arch amd64 --created-by "tools/images.sh" \
            --label "$KEY_LABEL=${KEY[$img]}" "$@" "$ctr" &&
        bah commit --quiet --rm --timestamp "$SOURCE_DATE_EPOCH" "$ctr" "${TAG[$img]}" >/dev/null; }; then
        bah rm "$ctr" >/dev/null 2>&1 || true
        return 1
    fi
}

# The image's archive from the store: written to a temp name, then renamed.
export_archive() { # export_archive <image>
    local out tmp
    out=$(tarfile "$1")
    tmp="$out.tmp.$$"
    TMPS+=("$tmp")
    rm -f -- "$tmp"
    bah push --quiet --compression-format gzip "${TAG[$1]}" "oci-archive:$tmp:${TAG[$1]}" >&2
    mv -f -- "$tmp" "$out"
}

# --- the images ------------------------------------------------------------------------
EXTRACTED="" # where extract_debian put the packages (once per run)
DEBS=""
extract_debian() {
    [[ -n $EXTRACTED ]] && return 0
    local dir="$WORK/extract" start=$SECONDS
    log "mmdebstrap --variant=extract $EXTRACT_PKGS ($SUITE) ..."
    nice -n 10 mmdebstrap --quiet --variant=extract --include="$EXTRACT_PKGS" \
        --skip=cleanup/apt/cache --format=directory "$SUITE" "$dir" "$SOURCES" </dev/null >&2
    DEBS="$dir/var/cache/apt/archives"
    compgen -G "$DEBS/*.deb" >/dev/null || die "mmdebstrap left no packages in $DEBS"
    log "  $(ls "$DEBS"/*.deb | wc -l) packages in $((SECONDS - start))s"
    EXTRACTED=$dir
}
deb_of() { # deb_of <package>: its .deb among the extracted ones
    local f
    f=$(compgen -G "$DEBS/${1}_*.deb" | head -1) || true
    [[ -n $f ]] || die "package $1 was not downloaded"
    echo "$f"
}
# Package manifest written beside an archive: "<package> <version>" per line.
manifest() { # manifest <image> <deb>...
    local img=$1 deb
    shift
    for deb in "$@"; do dpkg-deb -f "$deb" Package Version | paste -sd' ' | sed 's/^Package: //; s/ Version: / /'; done |
        LC_ALL=C sort >"$TARS/$img-${KEY[$img]}.packages"
}

build_static() {
    extract_debian
    local r="$WORK/static" p debs=()
    mkdir -p "$r"
    for p in base-files ca-certificates tzdata netbase; do debs+=("$(deb_of "$p")"); done
    mkdir -p "$r/etc" "$r/usr/lib" "$r/usr/share"
    cp -a "$EXTRACTED/usr/lib/os-release" "$r/usr/lib/"
    cp -a "$EXTRACTED/etc/os-release" "$EXTRACTED/etc/debian_version" "$r/etc/"
    cp -a "$EXTRACTED/usr/share/zoneinfo" "$r/usr/share/"
    for p in services protocols rpc ethertypes; do
        [[ -e $EXTRACTED/etc/$p ]] && cp -a "$EXTRACTED/etc/$p" "$r/etc/"
    done
    write_ca_bundle "$r" "$EXTRACTED"
    for p in base-files ca-certificates tzdata netbase; do
        mkdir -p "$r/usr/share/doc/$p"
        cp -a "$EXTRACTED/usr/share/doc/$p/copyright" "$r/usr/share/doc/$p/"
    done
    write_users "$r" /sbin/nologin
    write_status "$r" "${debs[@]}"
    det_tar "$r" "$WORK/static.tar"
    commit_rootfs static "$WORK/static.tar" --user "$NONROOT:$NONROOT" --workingdir /home/nonroot \
        --env "PATH=$ENV_PATH" --env "SSL_CERT_FILE=$ENV_SSL"
    manifest static "${debs[@]}"
}

build_python3() {
    extract_debian
    local r="$WORK/python3" deb pkg keep=() f
    mkdir -p "$r"
    for deb in "$DEBS"/*.deb; do
        pkg=$(dpkg-deb -f "$deb" Package)
        [[ " $PYTHON3_DROP " == *" $pkg "* ]] && continue
        keep+=("$deb")
        dpkg-deb -x "$deb" "$r"
    done
    for f in $PYTHON3_DROP_FILES; do rm -f -- "${r:?}/$f"; done
    # What the packages' maintainer scripts would have made.
    write_ca_bundle "$r" "$r"
    write_users "$r" /sbin/nologin
    write_status "$r" "${keep[@]}"
    rm -rf -- "$r/usr/share/man" "$r/usr/share/info" "$r/usr/share/lintian"
    find "$r/usr/share/doc" -type f ! -name copyright -delete
    find "$r/usr/share/doc" -depth -type d -empty -delete
    # Byte-compile the standard library as python3's postinst does, with hash-based .pyc files
    # (valid whatever the files' mtimes).
    chroot "$r" /usr/bin/python3 -m compileall -q -j 1 --invalidation-mode unchecked-hash /usr/lib/python3.11 >&2 ||
        die "compileall failed in the python3 rootfs"
    [[ ! -e $r/bin/sh && ! -e $r/usr/bin/sh ]] || die "a shell got into the python3 image"
    det_tar "$r" "$WORK/python3.tar"
    commit_rootfs python3 "$WORK/python3.tar" --user "$NONROOT:$NONROOT" --workingdir /home/nonroot \
        --env "PATH=$ENV_PATH" --env "SSL_CERT_FILE=$ENV_SSL" --env "LANG=C.UTF-8" \
        --entrypoint '["/usr/bin/python3"]'
    manifest python3 "${keep[@]}"
}

build_python3_build() {
    local r="$WORK/python3-build" start=$SECONDS
    log "mmdebstrap --variant=essential $BUILD_PKGS ($SUITE) ..."
    # A configured system (maintainer scripts run): dash, apt-less, with pip.
    nice -n 10 mmdebstrap --quiet --variant=essential --include="$BUILD_PKGS" \
        --customize-hook='rm -f "$1/etc/resolv.conf" "$1/etc/hostname"' \
        --customize-hook='chroot "$1" dpkg-query -W -f="\${Package} \${Version}\n" > "$1/.packages"' \
        --format=directory "$SUITE" "$r" "$SOURCES" </dev/null >&2
    log "  mmdebstrap done in $((SECONDS - start))s"
    LC_ALL=C sort "$r/.packages" >"$TARS/python3-build-${KEY[python3-build]}.packages"
    rm -f "$r/.packages"
    det_tar "$r" "$WORK/python3-build.tar"
    commit_rootfs python3-build "$WORK/python3-build.tar" \
        --env "PATH=$ENV_PATH" --env "LANG=C.UTF-8" --cmd '["/usr/bin/python3"]'
}

build_busybox() {
    extract_debian
    local r="$WORK/busybox" deb version applet
    deb=$(deb_of busybox-static)
    version=$(dpkg-deb -f "$deb" Version) # e.g. 1:1.35.0-4+deb12u1+b1
    version=${version#*:}
    version=${version%%-*}
    TAG[busybox]=localhost/rbg/busybox:${version%.*}
    mkdir -p "$r"
    dpkg-deb -x "$deb" "$r"
    rm -rf -- "$r/usr/share/man"
    find "$r/usr/share/doc" -type f ! -name copyright -delete
    # One symlink per applet, as `busybox --install -s` makes.
    for applet in $("$r/bin/busybox" --list-full); do
        [[ -e $r/$applet || -L $r/$applet ]] && continue
        mkdir -p "$r/$(dirname "$applet")"
        ln -s /bin/busybox "$r/$applet"
    done
    write_users "$r" /bin/sh
    write_status "$r" "$deb"
    det_tar "$r" "$WORK/busybox.tar"
    commit_rootfs busybox "$WORK/busybox.tar" --env "PATH=$ENV_PATH" --cmd '["sh"]'
    manifest busybox "$deb"
    echo "${TAG[busybox]}" >"$TARS/busybox-${KEY[busybox]}.tag"
}

build_pause() {
    local r="$WORK/pause"
    mkdir -p "$r"
    nice -n 10 gcc -Os -static -s -Wall -Wextra -Werror -ffile-prefix-map="$TOOLS"=. \
        -o "$r/pause" "$TOOLS/images/pause.c"
    "$r/pause" -v >/dev/null || die "the pause binary does not run"
    det_tar "$r" "$WORK/pause.tar"
    # As Kubernetes' pause: runs as 65535, no arguments.
    commit_rootfs pause "$WORK/pause.tar" --user 65535:65535 --entrypoint '["/pause"]'
    toolchain | sed 's/^/toolchain: /' >"$TARS/pause-${KEY[pause]}.packages"
}

build_hooks() {
    ensure_in_store python3
    ensure_in_store python3-build
    # The Dockerfile as docker builds it, its two bases replaced by ours. RUN steps run under
    # chroot isolation with the host network (pip reaches PyPI), and trust what this machine
    # trusts: its CA bundle is mounted over the build base's for them (a proxy that intercepts
    # TLS has its CA there), and is in no image.
    local ca=() ctr
    [[ -f $BUILD_CA ]] && ca=(--volume "$BUILD_CA:/etc/ssl/certs/ca-certificates.crt:ro")
    (cd "$REPO" && nice -n 10 buildah --root "$STORE" --runroot "$CACHE/run" --storage-driver "$DRIVER" \
        bud --quiet --isolation chroot --network host --pull=never "${ca[@]}" \
        --build-arg "BUILD_BASE=${TAG[python3-build]}" --build-arg "RUNTIME_BASE=${TAG[python3]}" \
        --label "$KEY_LABEL=${KEY[hooks]}" -f Dockerfile -t "${TAG[hooks]}" .) >&2
    # The dependency versions pip chose, beside the archive.
    ctr=$(bah from --pull=never "${TAG[hooks]}")
    if ! bah run --isolation chroot "$ctr" -- python3 -c \
        'import importlib.metadata as m; print(*sorted(f"{d.name} {d.version}" for d in m.distributions(path=["/app"])), sep="\n")' \
        >"$TARS/hooks-${KEY[hooks]}.packages"; then
        bah rm "$ctr" >/dev/null
        die "python3 in the hooks image failed"
    fi
    bah rm "$ctr" >/dev/null
}

build_metacontroller() {
    ensure_in_store static
    local ctr
    ctr=$(bah from --pull=never "${TAG[static]}")
    if ! { bah copy --quiet --chown 0:0 --chmod 0755 "$ctr" "$MC_BIN" /usr/bin/metacontroller &&
        bah config --created-by "tools/images.sh" --label "$KEY_LABEL=${KEY[metacontroller]}" \
            --entrypoint '["/usr/bin/metacontroller"]' --cmd '' "$ctr" &&
        bah commit --quiet --rm --timestamp "$SOURCE_DATE_EPOCH" "$ctr" "${TAG[metacontroller]}" >/dev/null; }; then
        bah rm "$ctr" >/dev/null 2>&1 || true
        return 1
    fi
    echo "metacontroller sha256:$MC_SUM" >"$TARS/metacontroller-${KEY[metacontroller]}.packages"
}

# The store's image under this tag was built from the same inputs (label = key).
in_store() {
    [[ $(bah inspect --type image --format "{{index .OCIv1.Config.Labels \"$KEY_LABEL\"}}" "${TAG[$1]}" 2>/dev/null) == "${KEY[$1]}" ]]
}

# A base the hooks build needs: in the store, from its archive if there is one, else built.
ensure_in_store() {
    in_store "$1" && return 0
    local tar
    tar=$(tarfile "$1")
    if [[ -f $tar ]]; then
        log "$1: loading $tar into the store"
        bah pull --quiet "oci-archive:$tar" >/dev/null
        bah tag "$(bah images --quiet --no-trunc --filter "label=$KEY_LABEL=${KEY[$1]}" | head -1)" "${TAG[$1]}"
        in_store "$1" || die "$1: loading $tar gave no image labelled ${KEY[$1]}"
    else
        build_image "$1"
    fi
}

# step: skip when the archive exists, else build into the store, then write the archive.
build_image() {
    local img=$1 start=$SECONDS
    log "$img: building ..."
    CURRENT=$img
    "build_${img//-/_}"
    export_archive "$img"
    CURRENT=""
    log "$img: ${TAG[$img]} done in $((SECONDS - start))s ($(du -h "$(tarfile "$img")" | cut -f1))"
}

step() {
    local img=$1
    if [[ $img == busybox ]] && [[ -n $(busybox_tag) ]]; then TAG[busybox]=$(busybox_tag); fi
    if [[ -f $(tarfile "$img") && -n ${TAG[$img]:-} ]]; then
        log "$img: cached ($(tarfile "$img"))"
        return 0
    fi
    build_image "$img"
}

if (($# == 0)); then set -- "${ALL_IMAGES[@]}"; fi
for img in "$@"; do
    [[ " ${ALL_IMAGES[*]} metacontroller " == *" $img "* ]] || die "unknown image '$img' (known: ${ALL_IMAGES[*]} metacontroller)"
done
TOTAL_START=$SECONDS
for img in "$@"; do step "$img"; done

# The output directory: hard links to this set's archives, and their tags.
SET=$(for img in "$@"; do echo "$img ${KEY[$img]} ${TAG[$img]}"; done | sha)
OUT=$CACHE/$SET
if [[ ! -f $OUT/images.txt ]]; then
    tmp="$CACHE/.$SET.tmp.$$"
    TMPS+=("$tmp")
    rm -rf -- "$tmp"
    mkdir -p "$tmp"
    for img in "$@"; do
        ln -f "$(tarfile "$img")" "$tmp/$img.tar"
        cp "$TARS/$img-${KEY[$img]}.packages" "$tmp/$img.packages"
        echo "${TAG[$img]} $img.tar" >>"$tmp/images.txt"
    done
    rm -rf -- "$OUT"
    mv -T -- "$tmp" "$OUT"
fi
# Images this run replaced under the same tags.
bah rmi --prune >/dev/null 2>&1 || true
log "images ($((SECONDS - TOTAL_START))s):"
while read -r tag file; do log "  $tag  $OUT/$file"; done <"$OUT/images.txt"
echo "$OUT"
