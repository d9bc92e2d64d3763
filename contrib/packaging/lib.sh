# Shared by build-dist and test-dist (sourced, not run): tool installation and the Debian mirror.
# Every tool lands under target/dist-tools, so a second run reuses it and the host stays clean
# apart from the Debian packages apt installs.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tools="$repo/target/dist-tools"

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# need_debs PACKAGE...: apt-get install the Debian packages not installed yet.
need_debs() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "install these Debian packages first (as root): ${missing[*]}"
    say "apt-get install ${missing[*]}"
    timeout 600 apt-get update -qq
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
        "${missing[@]}" >/dev/null
}

# need_zigbuild: ziglang and cargo-zigbuild from PyPI in a venv; puts them on PATH.
need_zigbuild() {
    local venv="$tools/zig-venv"
    if [ ! -x "$venv/bin/cargo-zigbuild" ]; then
        say "pip install ziglang cargo-zigbuild (venv $venv)"
        python3 -m venv "$venv" 2>/dev/null || { need_debs python3-venv; python3 -m venv "$venv"; }
        timeout 600 "$venv/bin/pip" install --quiet --disable-pip-version-check \
            'ziglang~=0.13.0' 'cargo-zigbuild~=0.19.0'
    fi
    export PATH="$venv/bin:$PATH"
}

# need_cargo_deb: cargo-deb from crates.io, built with its own lock file.
need_cargo_deb() {
    if [ ! -x "$tools/bin/cargo-deb" ]; then
        say "cargo install --locked cargo-deb (into $tools)"
        timeout 900 cargo install --locked --quiet --root "$tools" --version '^3' cargo-deb
    fi
    export PATH="$tools/bin:$PATH"
}

# debian_mirror: the Debian archive this machine's apt sources use (deb822 or one-line form).
debian_mirror() {
    local uri
    uri=$(awk '
        /^URIs:/ { uris = $2 }
        /^Suites:/ { for (i = 2; i <= NF; i++) if ($i !~ /-(security|updates|backports)$/) main = 1 }
        /^$/ { if (main && uris != "") { print uris; exit } uris = ""; main = 0 }
        END { if (main && uris != "") print uris }
    ' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
    if [ -z "$uri" ]; then
        uri=$(awk '$1 == "deb" && $3 !~ /-(security|updates|backports)$/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
            /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1)
    fi
    [ -n "$uri" ] || die "no Debian mirror found in /etc/apt/sources.list or /etc/apt/sources.list.d/"
    printf '%s\n' "$uri"
}

# crate_version PACKAGE: the package's version as Cargo resolves it (workspace inheritance too).
crate_version() {
    local id
    id=$(cd "$repo" && cargo pkgid --offline -p "$1" 2>/dev/null || cargo pkgid -p "$1")
    printf '%s\n' "${id##*[#@]}"
}
