#!/usr/bin/env bash
# Builds the Debian package of dji-media-sync, offline, with dpkg-deb (no debian/ source tree, no
# network): dist/dji-media-sync_<version>_<arch>.deb, then checks it with lintian.
#
#   scripts/build-deb.sh                   build the release binary (static Swift stdlib) and package it
#   scripts/build-deb.sh --binary PATH     package a binary built before (same flags)
#   scripts/build-deb.sh --out DIR         where the .deb goes (default: dist/)
#   scripts/build-deb.sh --no-lintian      skip lintian
#
# The version is the binary's own (`dji-media-sync --version`, set in DJIMediaSync.swift), the
# architecture this machine's (`dpkg --print-architecture`: build on an arm64 Debian 12 for arm64).
# Depends: what dpkg-shlibdeps derives from the binary's libraries, libcurl4 (loaded when first
# needed: dpkg-shlibdeps cannot see it), adduser (postinst),
# openssh-client (the NAS destination) and procps (the unit's ExecReload=/bin/kill).
# Prints the path of the .deb last (on stdout; everything else goes to stderr).
# Environment: DMS_REL_SCRATCH    swift build scratch path of the release build (default .build-rel)
#              DMS_DEB_MAINTAINER the Maintainer: field (the project has no list address yet)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly repo PKG=dji-media-sync
scratch=${DMS_REL_SCRATCH:-.build-rel}
binary=""
out="$repo/dist"
lintian=yes
maintainer=${DMS_DEB_MAINTAINER:-dji-media-sync maintainers <dji-media-sync@example.org>}

die() { echo "build-deb: $*" >&2; exit 1; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --binary) [[ $# -ge 2 ]] || die "--binary needs a path"; binary=$2; shift 2 ;;
        --out) [[ $# -ge 2 ]] || die "--out needs a folder"; out=$2; shift 2 ;;
        --no-lintian) lintian=no; shift ;;
        -h | --help) sed -n '2,17s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done
for tool in dpkg-deb dpkg-shlibdeps objdump strip gzip; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install dpkg-dev binutils)"
done

# 1. The binary: release, the Swift runtime and Foundation linked in (the dock has no toolchain).
if [[ -z "$binary" ]]; then
    echo "build-deb: swift build -c release --static-swift-stdlib (scratch $scratch)" >&2
    (cd "$repo" && swift build -c release --static-swift-stdlib --product "$PKG" --scratch-path "$scratch") >&2
    binary="$(cd "$repo" && cd "$scratch" && pwd)/release/$PKG"
fi
[[ -f "$binary" && -x "$binary" ]] || die "not an executable file: $binary"
needed=$(objdump -p "$binary" | awk '$1 == "NEEDED" { print $2 }')
if grep -E '^lib(swift|Foundation|dispatch|BlocksRuntime|_FoundationICU)' <<<"$needed"; then
    die "$binary needs Swift runtime libraries (build with --static-swift-stdlib)"
fi
version=$("$binary" --version)
[[ "$version" =~ ^[0-9][0-9A-Za-z.+~]*$ ]] || die "unusable version from $binary --version: $version"
arch=$(dpkg --print-architecture)

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
root="$tmp/root"
doc="$root/usr/share/doc/$PKG"
# Reproducible: every date and mtime is that of the last commit.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}
umask 022

# 2. The tree.
install -d "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/$PKG" "$doc" "$root/usr/share/man/man1" \
    "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
    "$root/usr/share/fish/vendor_completions.d"
install -m 0755 "$binary" "$root/usr/bin/$PKG"
# Debian's dh_strip flags: symbols go, Swift's reflection metadata sections stay.
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/usr/bin/$PKG"
install -m 0644 "$repo/systemd/$PKG.service" "$root/lib/systemd/system/$PKG.service"
install -m 0644 "$repo/media_sync_config.json" "$root/etc/$PKG/media_sync_config.json"
for f in install.md operations.md configuration.md object-storage.md nas-setup.md nas-receiver.md \
    media_sync_config.s3-example.json; do
    install -m 0644 "$repo/docs/$f" "$doc/$f"
done
install -m 0644 "$repo/packaging/debian/copyright" "$doc/copyright"
if [[ -s "$repo/packaging/debian/lintian-overrides" ]]; then
    install -D -m 0644 "$repo/packaging/debian/lintian-overrides" "$root/usr/share/lintian/overrides/$PKG"
fi
# A native package: changelog.gz. Its one entry is this build's version.
{
    printf '%s (%s) stable; urgency=medium\n\n' "$PKG" "$version"
    printf '  * Built from commit %s.\n\n' "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    printf ' -- %s  %s\n' "$maintainer" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.gz"

# The man page and completions come from the binary's own argument parser. generate-manual is
# swift-argument-parser's tool (its package is a checkout of this build); built once per scratch.
genman_scratch="$repo/$scratch/generate-manual"
[[ "$scratch" = /* ]] && genman_scratch="$scratch/generate-manual"
parser_pkg=$(cd "$repo" && cd "$(dirname "$binary")/.." && pwd)/checkouts/swift-argument-parser
[[ -d "$parser_pkg" ]] || parser_pkg="$repo/$scratch/checkouts/swift-argument-parser"
[[ -f "$parser_pkg/Package.swift" ]] || die "no swift-argument-parser checkout at $parser_pkg (build the release binary with this scratch path first)"
(swift build -c release --package-path "$parser_pkg" --product generate-manual --scratch-path "$genman_scratch") >"$tmp/genman.log" 2>&1 \
    || { cat "$tmp/genman.log" >&2; die "building generate-manual failed"; }
mkdir -p "$tmp/man"
"$genman_scratch/release/generate-manual" "$root/usr/bin/$PKG" --date "$(date -u -d "@$SOURCE_DATE_EPOCH" +%F)" \
    --authors "dji-media-sync maintainers" --output-directory "$tmp/man" >&2
gzip -9n <"$tmp/man/$PKG.1" >"$root/usr/share/man/man1/$PKG.1.gz"
# bash-completion sources the file: no #! line.
"$root/usr/bin/$PKG" --generate-completion-script bash | sed '1{/^#!/d}' >"$root/usr/share/bash-completion/completions/$PKG"
"$root/usr/bin/$PKG" --generate-completion-script zsh >"$root/usr/share/zsh/vendor-completions/_$PKG"
"$root/usr/bin/$PKG" --generate-completion-script fish >"$root/usr/share/fish/vendor_completions.d/$PKG.fish"
# The NAS side of the protocol, to copy to the NAS as a forced command (docs/nas-receiver.md). It
# runs on the NAS, not here; 0755 so that a copy keeps its mode (and lintian wants a #! script
# executable).
install -d "$root/usr/share/$PKG"
"$root/usr/bin/$PKG" nas-receiver >"$root/usr/share/$PKG/dms-receive"
chmod 0755 "$root/usr/share/$PKG/dms-receive"
head -c 2 "$root/usr/share/$PKG/dms-receive" | grep -q '#!' || die "nas-receiver printed no script"

# 3. Depends, from the libraries the binary really loads (dpkg-shlibdeps wants a debian/control).
mkdir -p "$tmp/src/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$PKG" "$PKG" >"$tmp/src/debian/control"
shlibs=$(cd "$tmp/src" && dpkg-shlibdeps -O "$root/usr/bin/$PKG" 2>"$tmp/shlibdeps.err") \
    || { cat "$tmp/shlibdeps.err" >&2; die "dpkg-shlibdeps failed"; }
shlibs=${shlibs#shlibs:Depends=}
[[ -n "$shlibs" ]] || die "dpkg-shlibdeps found no libraries"
# libcurl is loaded when first needed (dlopen), so dpkg-shlibdeps cannot see it: named here, from the
# version that has CURLOPT_PROTOCOLS_STR.
shlibs="$shlibs, libcurl4 (>= 7.85.0)"

# 4. Control files.
install -d -m 0755 "$root/DEBIAN"
for f in postinst prerm postrm; do install -m 0755 "$repo/packaging/debian/$f" "$root/DEBIAN/$f"; done
printf '/etc/%s/media_sync_config.json\n' "$PKG" >"$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: $PKG
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: $shlibs, adduser, openssh-client, procps
Recommends: ca-certificates
Section: admin
Priority: optional
Description: copies drone media to a NAS and object storage, verified
 A systemd service for a drone dock's edge computer: it copies photos and
 videos from the local media folder to a NAS over ssh (and to S3-compatible
 buckets), checks SHA-256 on both ends, publishes each file atomically under
 YYYY/MM/DD, and deletes a local source only after a delay and a second
 verification.
 .
 The service runs as the system user dji-media-sync. It is not started until
 /etc/dji-media-sync/media_sync_config.json passes
 "dji-media-sync config check"; see /usr/share/doc/dji-media-sync/install.md.
EOF
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"
find "$root" -depth -exec touch --no-dereference -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb="$(cd "$out" && pwd)/${PKG}_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2

# 5. lintian: no errors or warnings. An override, if ever needed, goes in
#    packaging/debian/lintian-overrides (shipped as usr/share/lintian/overrides/) with its reason.
if [[ "$lintian" == yes ]]; then
    command -v lintian >/dev/null || die "lintian not found (apt-get install lintian, or --no-lintian)"
    rc=0
    lintian --fail-on error,warning --info "$deb" >&2 || rc=$?
    [[ $rc -eq 0 ]] || die "lintian found problems in $deb (above)"
    echo "build-deb: lintian: no errors or warnings" >&2
fi
echo "build-deb: $(du -h "$deb" | cut -f1) $deb (Depends: $shlibs, adduser, openssh-client, procps)" >&2
echo "$deb"
