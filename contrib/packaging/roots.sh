# Debootstrapped Debian roots for test-dist (sourced): made once, kept as tarballs under
# target/dist-test/roots, unpacked fresh for every run.

# root_tarball SUITE INCLUDES: prints the path of a tarball of a minbase SUITE root holding
# INCLUDES (comma-separated); debootstraps it first when it is not cached.
root_tarball() {
    local suite=$1 include=$2 cache="$repo/target/dist-test/roots" tarball tmp
    tarball="$cache/$suite-$(printf '%s' "$include" | sha256sum | cut -c1-12).tar"
    if [ ! -s "$tarball" ]; then
        mkdir -p "$cache"
        tmp=$(mktemp -d "$cache/debootstrap.XXXXXX")
        say "debootstrap $suite (--include=$include) from $(debian_mirror)"
        if ! timeout 900 debootstrap --variant=minbase --include="$include" "$suite" "$tmp/root" \
            "$(debian_mirror)" >"$tmp/log" 2>&1; then
            tail -20 "$tmp/log" >&2
            rm -rf "$tmp"
            die "debootstrap $suite failed"
        fi
        # No apt lists or package cache in the tarball: the tests install nothing with apt.
        rm -rf "$tmp/root/var/cache/apt/archives/"*.deb "$tmp/root/var/lib/apt/lists/"*
        tar -C "$tmp/root" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
        rm -rf "$tmp"
    fi
    printf '%s\n' "$tarball"
}

# unpack_root TARBALL DIR: a fresh root in DIR.
unpack_root() {
    rm -rf "$2"
    mkdir -p "$2"
    tar -C "$2" -xf "$1"
}
