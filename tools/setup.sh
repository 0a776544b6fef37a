#!/bin/sh
# Installs what wspharness needs to build and test on Debian 12, and fetches the Debian source
# packages of libyaml and cJSON as meson subprojects for the mingw-w64 cross build.
#
# Usage: tools/setup.sh [native|win|browser|fuzz|valgrind|all]     (default: all)
#
#   native  Debian packages for the native build and its tests (libyaml-dev, libcjson-dev, ...).
#   win     the native set plus mingw-w64 and Wine, and subprojects/libyaml and subprojects/cjson
#           (unpacked from Debian's libyaml and cjson source packages with Debian's patches
#           applied, with our meson.build from subprojects/packagefiles/libyaml/ and .../cjson/).
#   browser Chromium, for the test that renders the conformance matrix page (make check).
#   fuzz    the native set plus clang with its libFuzzer, ASan and UBSan runtimes (build-asan/,
#           the fuzz targets: make fuzz, make check).
#   valgrind valgrind, for the native end-to-end tests run under it (make check).
#   all     win, browser, fuzz and valgrind.
#
# Idempotent: when everything is present it makes no apt calls at all. The source packages are
# downloaded with a private apt configuration under .cache/apt-src/, so the machine's apt
# sources, lists and caches are left untouched.
set -eu

prog=tools/setup.sh

die() {
    printf '%s: error: %s\n' "$prog" "$*" >&2
    exit 1
}

note() {
    printf '%s: %s\n' "$prog" "$*"
}

mode=${1:-all}
case $mode in
    native | win | browser | fuzz | valgrind | all) ;;
    -h | --help)
        sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown mode '$mode' (use native, win, browser, fuzz, valgrind or all)" ;;
esac
[ $# -le 1 ] || die "too many arguments (usage: $prog [native|win|browser|fuzz|valgrind|all])"

root=$(cd "$(dirname "$0")/.." && pwd)
cache_dir=$root/.cache
src_dir=$cache_dir/apt-src

native_pkgs="meson ninja-build pkg-config gcc g++ libyaml-dev libcjson-dev libcriterion-dev python3 python3-junitparser python3-yaml libxml2-utils"
# apt-get source --download-only needs nothing beyond apt itself (gpgv comes with apt); the
# tarballs are unpacked with tar and gzip (essential) and xz, and Debian's patches applied with
# patch.
src_pkgs="xz-utils patch"
win_pkgs="gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64-win32 wine wine64"
# The matrix page is checked in a real browser (tests/browser/matrix_browser.py).
browser_pkgs="chromium"
# clang-14's -fsanitize=fuzzer,address,undefined runtimes are in libclang-rt-14-dev, which clang
# only recommends.
fuzz_pkgs="clang libclang-rt-14-dev"
valgrind_pkgs="valgrind"

is_root=false
[ "$(id -u)" -eq 0 ] && is_root=true

command -v dpkg-query >/dev/null 2>&1 ||
    die "dpkg-query not found: this script supports Debian 12 (bookworm) only"

# Serialise concurrent runs (make -j runs setup-native and setup-win side by side).
mkdir -p "$cache_dir"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$cache_dir/setup.lock"
    flock 9
fi

# ---------------------------------------------------------------------------------------------
# Debian packages
# ---------------------------------------------------------------------------------------------

missing_pkgs() {
    for p in "$@"; do
        st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [ "$st" = "install ok installed" ] || printf '%s ' "$p"
    done
}

as_root() {
    if $is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "not root and sudo is not available: run as root or install sudo (needed: $*)"
    fi
}

install_pkgs() {
    need=$(missing_pkgs "$@")
    [ -n "$need" ] || return 0
    note "installing Debian packages: $need"
    # DPkg::Lock::Timeout waits for another apt/dpkg instead of failing at once.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
        die "apt-get update failed"
    # shellcheck disable=SC2086 # $need is a list of package names.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends -o DPkg::Lock::Timeout=600 $need ||
        die "apt-get install failed for: $need"
    still=$(missing_pkgs "$@")
    [ -z "$still" ] || die "packages still not installed after apt-get install: $still"
}

# ---------------------------------------------------------------------------------------------
# Which Debian mirror and suite the machine uses (for the private deb-src line)
# ---------------------------------------------------------------------------------------------

codename() {
    c=""
    if [ -r /etc/os-release ]; then
        c=$(sed -n 's/^VERSION_CODENAME=["'\'']\{0,1\}\([A-Za-z0-9_-]*\).*/\1/p' /etc/os-release | head -n 1)
    fi
    printf '%s\n' "${c:-bookworm}"
}

# Prints "URI<TAB>SIGNED-BY" of the first entry for suite $1 with component main, or nothing.
mirror_from_list() { # one-line format: deb [opts] URI SUITE COMPONENT...
    awk -v suite="$1" '
        $1 != "deb" && $1 != "deb-src" { next }
        {
            i = 2; opts = ""
            if ($2 ~ /^\[/) {
                while (i <= NF && $i !~ /\]$/) { opts = opts " " $i; i++ }
                opts = opts " " $i; i++
            }
            uri = $i; s = $(i + 1)
            if (s != suite || uri !~ /^https?:\/\//) next
            main = 0
            for (j = i + 2; j <= NF; j++) if ($j == "main") main = 1
            if (!main) next
            signed = ""
            if (match(opts, /signed-by=[^] ]+/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
            print uri "\t" signed
            exit
        }' "$2"
}

mirror_from_sources() { # deb822 format: Types/URIs/Suites/Components stanzas
    awk -v suite="$1" '
        function flush() {
            if (!found && enabled != "no" && (" " types " ") ~ / deb(-src)? / &&
                (" " suites " ") ~ (" " suite " ") && (" " comps " ") ~ / main / && uris != "") {
                n = split(uris, u, " ")
                for (k = 1; k <= n; k++)
                    if (u[k] ~ /^https?:\/\//) { print u[k] "\t" signed; found = 1; break }
            }
            types = uris = suites = comps = signed = enabled = ""
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        /^[A-Za-z][A-Za-z0-9-]*:/ {
            c = index($0, ":")
            key = tolower(substr($0, 1, c - 1)); val = substr($0, c + 1)
            gsub(/^[ \t]+|[ \t]+$/, "", val); gsub(/[ \t]+/, " ", val)
            if (key == "types") types = val
            else if (key == "uris") uris = val
            else if (key == "suites") suites = val
            else if (key == "components") comps = val
            else if (key == "signed-by") signed = val
            else if (key == "enabled") enabled = tolower(val)
        }
        END { flush() }' "$2"
}

# Sets mirror_uri, mirror_suite and mirror_signed_by.
find_mirror() {
    mirror_suite=$(codename)
    found=""
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        case $f in
            *.sources) found=$(mirror_from_sources "$mirror_suite" "$f") ;;
            *) found=$(mirror_from_list "$mirror_suite" "$f") ;;
        esac
        [ -z "$found" ] || break
    done
    tab=$(printf '\t')
    if [ -n "$found" ]; then
        mirror_uri=${found%%"$tab"*}
        mirror_signed_by=${found#*"$tab"}
    else
        mirror_uri=http://deb.debian.org/debian
        mirror_signed_by=/usr/share/keyrings/debian-archive-keyring.gpg
    fi
    # Only a key file can be passed on; inline keys fall back to the trusted keyrings.
    case $mirror_signed_by in
        /*) [ -r "$mirror_signed_by" ] || mirror_signed_by="" ;;
        *) mirror_signed_by="" ;;
    esac
}

# ---------------------------------------------------------------------------------------------
# Debian source packages as meson subprojects (libyaml, cJSON)
# ---------------------------------------------------------------------------------------------

# The cached .dsc of source package $1, upstream version $2 (whatever Debian revision apt gave),
# or nothing.
dsc_file() {
    for f in "$src_dir/$1_$2"-*.dsc; do
        [ -f "$f" ] || continue
        printf '%s\n' "$f"
        return
    done
}

# "SHA256 NAME" for each file of the .dsc $1 (its Checksums-Sha256 field).
dsc_sums() {
    awk '/^[^ \t]/ { sec = ($0 ~ /^Checksums-Sha256:/); next }
         sec && NF == 3 { print $1, $3 }' "$1"
}

# True when the (apt-verified) .dsc of $1 $2 is cached and every file it lists matches its
# SHA-256.
source_ok() {
    dsc=$(dsc_file "$1" "$2")
    [ -n "$dsc" ] || return 1
    sums=$(dsc_sums "$dsc")
    [ -n "$sums" ] || return 1
    printf '%s\n' "$sums" | while read -r want f; do
        [ -f "$src_dir/$f" ] || exit 1
        have=$(sha256sum "$src_dir/$f" | cut -d ' ' -f 1)
        [ "$want" = "$have" ] || exit 1
    done
}

run_logged() { # run_logged LOG CMD...: quiet on success, shows the log on failure
    log=$1
    shift
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        return 1
    fi
}

# The apt options of the private configuration (set by private_apt_update).
apt_opts_set=false

private_apt_update() {
    $apt_opts_set && return 0
    find_mirror
    note "reading the source package lists of $mirror_uri $mirror_suite (private apt config in .cache/apt-src/)"
    rm -rf "$src_dir/lists" "$src_dir/cache"
    mkdir -p "$src_dir/lists/partial" "$src_dir/cache/archives/partial"
    if [ -n "$mirror_signed_by" ]; then
        opts="[signed-by=$mirror_signed_by] "
    else
        opts=""
    fi
    printf 'deb-src %s%s %s main\n' "$opts" "$mirror_uri" "$mirror_suite" >"$src_dir/sources.list"

    apt_opts="-o Dir::Etc::SourceList=$src_dir/sources.list -o Dir::Etc::SourceParts=/dev/null"
    apt_opts="$apt_opts -o Dir::State::Lists=$src_dir/lists -o Dir::Cache=$src_dir/cache"
    apt_opts="$apt_opts -o Acquire::Languages=none"
    if $is_root; then
        # Files under the work tree may not be readable by the _apt sandbox user.
        apt_opts="$apt_opts -o APT::Sandbox::User=root"
    else
        # The private lists folder is ours; no system lock is involved.
        apt_opts="$apt_opts -o Debug::NoLocking=true"
    fi
    # shellcheck disable=SC2086 # $apt_opts is a list of options (the work tree has no spaces).
    run_logged "$src_dir/update.log" apt-get -q $apt_opts update ||
        die "apt-get update with the private deb-src list failed (see above; list: $src_dir/sources.list)"
    apt_opts_set=true
}

# download_source PKG VERSION: the source package (.dsc, orig and Debian tarballs) into
# .cache/apt-src/.
download_source() {
    case $src_dir in *[[:space:]]*) die "the work tree's path has white space: $src_dir" ;; esac
    private_apt_update
    note "fetching the $1 source package"
    rm -f "$src_dir/$1"_*
    # shellcheck disable=SC2086
    (cd "$src_dir" && run_logged "$src_dir/source-$1.log" \
        apt-get -q $apt_opts -o APT::Get::Only-Source=true source --download-only "$1") ||
        die "apt-get source --download-only $1 failed (see above)"
    if [ -z "$(dsc_file "$1" "$2")" ]; then
        ls -l "$src_dir" >&2
        die "apt-get source did not give $1 $2 (a different version in $mirror_suite?); subprojects/packagefiles/$1/meson.build is for $2"
    fi
}

# apply_patches TREE: Debian's patches (debian/patches/series, in order) applied to the upstream
# tree, as dpkg-source does, so the Windows build has the fixes the Debian package has.
apply_patches() {
    series=$1/debian/patches/series
    [ -f "$series" ] || return 0
    sed -e 's/#.*//' "$series" | while read -r p _; do
        [ -n "$p" ] || continue
        patch -d "$1" -s -t -N -p1 -F 0 -E --no-backup-if-mismatch -r - \
            -i "$1/debian/patches/$p" >&2 || { printf '%s: patch %s failed\n' "$prog" "$p" >&2; exit 1; }
    done
}

# fetch_source PKG VERSION FILE: subprojects/PKG unpacked from Debian's source package PKG (upstream
# VERSION, with Debian's patches applied) and our subprojects/packagefiles/PKG/meson.build; FILE
# is an upstream file that shows the tree is there.
fetch_source() {
    pkg=$1 ver=$2 marker=$3
    dest=$root/subprojects/$pkg
    pf=$root/subprojects/packagefiles/$pkg/meson.build
    [ -f "$pf" ] || die "missing $pf"
    if [ -f "$dest/$marker" ]; then
        # Keep the unpacked subproject's build file in step with ours.
        cmp -s "$pf" "$dest/meson.build" || cp "$pf" "$dest/meson.build"
        return 0
    fi
    mkdir -p "$src_dir"
    if ! source_ok "$pkg" "$ver"; then
        download_source "$pkg" "$ver"
        source_ok "$pkg" "$ver" || die "the $pkg source package does not match the SHA-256 sums in its .dsc"
    fi
    dsc=$(dsc_file "$pkg" "$ver")
    orig=$(dsc_sums "$dsc" | awk '$2 ~ /\.orig\.tar\./ { print $2; exit }')
    debian=$(dsc_sums "$dsc" | awk '$2 ~ /\.debian\.tar\./ { print $2; exit }')
    [ -n "$orig" ] || die "$dsc lists no orig tarball"
    tmp=$root/subprojects/.$pkg.tmp.$$
    rm -rf "$tmp"
    mkdir -p "$tmp"
    tar -xf "$src_dir/$orig" -C "$tmp" --strip-components=1 ||
        { rm -rf "$tmp"; die "unpacking $orig failed"; }
    if [ -n "$debian" ]; then
        tar -xf "$src_dir/$debian" -C "$tmp" || { rm -rf "$tmp"; die "unpacking $debian failed"; }
        apply_patches "$tmp" || { rm -rf "$tmp"; die "applying Debian's patches to $pkg failed"; }
    fi
    if [ ! -f "$tmp/$marker" ]; then
        rm -rf "$tmp"
        die "$orig does not have the expected $marker"
    fi
    cp "$pf" "$tmp/meson.build"
    rm -rf "$dest"
    mv "$tmp" "$dest"
    note "$pkg $ver unpacked into subprojects/$pkg from $(basename "$dsc")"
}

# The source packages the Windows build compiles: PKG:UPSTREAM-VERSION:FILE (see fetch_source).
win_sources="libyaml:0.2.5:src/api.c cjson:1.7.15:cJSON.c"

# True when every subproject of $win_sources is unpacked.
sources_unpacked() {
    for s in $win_sources; do
        pkg=${s%%:*} marker=${s##*:}
        [ -f "$root/subprojects/$pkg/$marker" ] || return 1
    done
}

# ---------------------------------------------------------------------------------------------

case $mode in
    native)
        # shellcheck disable=SC2086
        install_pkgs $native_pkgs
        ;;
    browser)
        # shellcheck disable=SC2086
        install_pkgs $browser_pkgs
        ;;
    fuzz)
        # shellcheck disable=SC2086
        install_pkgs $native_pkgs $fuzz_pkgs
        ;;
    valgrind)
        # shellcheck disable=SC2086
        install_pkgs $valgrind_pkgs
        ;;
    win | all)
        extra=""
        if ! sources_unpacked; then
            find_mirror
            case $mirror_uri in https:*) extra=ca-certificates ;; esac
            extra="$extra $src_pkgs"
        fi
        [ "$mode" = all ] && extra="$extra $browser_pkgs $fuzz_pkgs $valgrind_pkgs"
        # shellcheck disable=SC2086
        install_pkgs $native_pkgs $win_pkgs $extra
        for s in $win_sources; do
            rest=${s#*:}
            fetch_source "${s%%:*}" "${rest%%:*}" "${s##*:}"
        done
        ;;
esac
