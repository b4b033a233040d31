#!/usr/bin/env bash
# Installs dji-media-sync from source as the systemd service `dji-media-sync` (the Debian package,
# scripts/build-deb.sh, is the other way; docs/install.md). Safe to run again (upgrade): the binary
# and the unit are replaced atomically, an existing config is never touched. The service runs as
# the system user dji-media-sync, created here; /etc/dji-media-sync is root:dji-media-sync 0750.
#
#   sudo ./install_daemon.sh                     build (release, static Swift stdlib) and install
#   sudo ./install_daemon.sh --binary PATH       install a prebuilt binary instead of building
#   sudo ./install_daemon.sh --config PATH       first-time config source (default: ./media_sync_config.json)
#   sudo ./install_daemon.sh --no-start          install and enable, but do not (re)start
#
# Exit status: 0 installed (and started unless --no-start); 1 refused, failed, or installed but
# not started because `dji-media-sync config check` (run as the service user) rejected the config.
# Guides: docs/install.md, docs/operations.md
set -euo pipefail

readonly SERVICE=dji-media-sync
readonly BIN_DEST=/usr/local/bin/dji-media-sync
readonly UNIT_DEST=/etc/systemd/system/dji-media-sync.service
readonly CONFIG_DIR=/etc/dji-media-sync
readonly CONFIG_DEST=$CONFIG_DIR/media_sync_config.json
readonly STATE_DIR=/var/lib/dji-media-sync
readonly DOC_DIR=/usr/local/share/doc/dji-media-sync
readonly SVC_USER=dji-media-sync
# What the binary links (besides glibc) and what the NAS destination runs, as Debian 12 packages
# (the .deb's Depends are derived from the binary by scripts/build-deb.sh).
readonly RUNTIME_PACKAGES="libcurl4 libssl3 libsqlite3-0 libsystemd0 libxml2 libstdc++6 openssh-client procps ca-certificates"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
binary=""
config_src="$repo/media_sync_config.json"
start=yes

usage() { sed -n '2,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
die() { echo "install_daemon.sh: $*" >&2; exit 1; }
say() { echo "==> $*"; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --binary) [[ $# -ge 2 ]] || die "--binary needs a path"; binary="$2"; shift 2 ;;
        --binary=*) binary="${1#*=}"; shift ;;
        --config) [[ $# -ge 2 ]] || die "--config needs a path"; config_src="$2"; shift 2 ;;
        --config=*) config_src="${1#*=}"; shift ;;
        --no-start) start=no; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

[[ "$(id -u)" -eq 0 ]] || die "must run as root (try: sudo $0${*:+ $*})"
command -v systemctl >/dev/null || die "systemctl not found: this installs a systemd service"
[[ -f "$repo/systemd/$SERVICE.service" ]] || die "missing $repo/systemd/$SERVICE.service"
if [[ "$(dpkg-query -W -f='${Status}' "$SERVICE" 2>/dev/null || true)" == "install ok installed" ]]; then
    die "the Debian package $SERVICE is installed: upgrade it with 'apt install ./${SERVICE}_….deb' (or remove it first: apt remove $SERVICE)"
fi

# Temp files next to their destination, removed if we stop half-way.
tmp_files=()
cleanup() { if [[ ${#tmp_files[@]} -gt 0 ]]; then rm -f -- "${tmp_files[@]}"; fi; }
trap cleanup EXIT

# install_atomic SRC DEST MODE: copy to a temp name in DEST's folder, then rename over DEST, so
# DEST is always either the old or the new file (a running binary keeps its old inode).
install_atomic() {
    local src="$1" dest="$2" mode="$3" tmp
    tmp="$(dirname "$dest")/.$(basename "$dest").new.$$"
    tmp_files+=("$tmp")
    install -m "$mode" -- "$src" "$tmp"
    mv -f -- "$tmp" "$dest"
}

# 1. The binary.
if [[ -z "$binary" ]]; then
    command -v swift >/dev/null || die "swift not found: install the Debian package instead (built with scripts/build-deb.sh on a machine with the toolchain; docs/install.md), or pass --binary PATH (built there with swift build -c release --static-swift-stdlib)"
    say "building $SERVICE (release, static Swift stdlib)"
    (cd "$repo" && swift build -c release --static-swift-stdlib --product dji-media-sync)
    binary="$(cd "$repo" && swift build -c release --static-swift-stdlib --show-bin-path)/dji-media-sync"
fi
[[ -f "$binary" && -x "$binary" ]] || die "not an executable file: $binary"
# A binary that cannot start must not replace a working one: name what it lacks.
if command -v ldd >/dev/null; then
    missing=$(ldd "$binary" 2>/dev/null | awk '/not found/ {print $1}' | tr '\n' ' ')
    # A missing Swift runtime is not a Debian package: the binary was built without the static stdlib.
    if grep -qE '(^| )lib(swift|Foundation|dispatch|BlocksRuntime|_FoundationICU)' <<<"$missing"; then
        die "$binary needs the Swift runtime ($missing): it was built without --static-swift-stdlib. Rebuild it with 'swift build -c release --static-swift-stdlib' (then --binary .build/release/dji-media-sync), or install the Debian package (scripts/build-deb.sh; docs/install.md)"
    fi
    [[ -z "$missing" ]] || die "$binary needs libraries this machine lacks: $missing(Debian 12: apt-get install $RUNTIME_PACKAGES)"
fi
say "installing $binary -> $BIN_DEST"
install -d -m 0755 "$(dirname "$BIN_DEST")"
install_atomic "$binary" "$BIN_DEST" 0755

# 2. The unit (and the guides its Documentation= points at). The repository's unit is the
#    package's: the binary and the guides live under /usr/local here.
say "installing unit -> $UNIT_DEST"
unit_tmp=$(mktemp)
tmp_files+=("$unit_tmp")
sed -e "s|^ExecStart=/usr/bin/$SERVICE |ExecStart=$BIN_DEST |" \
    -e "s|^Documentation=.*|Documentation=file://$DOC_DIR/install.md|" "$repo/systemd/$SERVICE.service" >"$unit_tmp"
grep -q "^ExecStart=$BIN_DEST " "$unit_tmp" || die "could not point ExecStart= of $repo/systemd/$SERVICE.service at $BIN_DEST"
install_atomic "$unit_tmp" "$UNIT_DEST" 0644
install -d -m 0755 "$DOC_DIR"
for doc in install.md operations.md configuration.md; do
    [[ -f "$repo/docs/$doc" ]] && install_atomic "$repo/docs/$doc" "$DOC_DIR/$doc" 0644
done

# 3. The service user (no login, home = the state folder), and the config: only when there is
#    none. The config may name keys, so it is readable by the service's group only.
if ! getent passwd "$SVC_USER" >/dev/null; then
    say "creating system user $SVC_USER"
    useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home --shell /usr/sbin/nologin "$SVC_USER"
fi
install -d "$CONFIG_DIR"
chgrp "$SVC_USER" "$CONFIG_DIR"
chmod 0750 "$CONFIG_DIR"
new_config=no
config_invalid=no
if [[ -e "$CONFIG_DEST" ]]; then
    say "keeping existing config $CONFIG_DEST"
elif [[ -f "$config_src" ]]; then
    say "installing first config $config_src -> $CONFIG_DEST"
    install_atomic "$config_src" "$CONFIG_DEST" 0640
    new_config=yes
else
    echo "install_daemon.sh: warning: no config at $CONFIG_DEST and no source $config_src; not starting" >&2
    start=no
fi

# Keys, known_hosts and the config (also those of an install that ran as root): readable by the
# service's group, by no one else.
find "$CONFIG_DIR" -maxdepth 1 -type f -group root ! -name "*.env" -exec chgrp "$SVC_USER" {} + -exec chmod g+r,o-rwx {} +

# 4. State (state.sqlite). StateDirectory= would create it too (and hands it to the user at each
#    start); created here so it exists before the first start and for `dji-media-sync` run by hand.
install -d -m 0750 -o "$SVC_USER" -g "$SVC_USER" "$STATE_DIR"

# 5. Check the config before starting a service that would exit 78 on it.
if [[ "$start" == yes && -e "$CONFIG_DEST" ]]; then
    rc=0
    # As the service user: a key it cannot read fails here, not at start.
    runuser -u "$SVC_USER" -- "$BIN_DEST" config check --config "$CONFIG_DEST" || rc=$?
    if [[ $rc -eq 78 ]]; then
        echo "install_daemon.sh: $CONFIG_DEST is invalid (see above); installed but not started" >&2
        start=no
        config_invalid=yes
    elif [[ $rc -ne 0 ]]; then
        echo "install_daemon.sh: warning: could not check the config (exit $rc); starting anyway" >&2
    fi
fi

# 6. systemd. Without a running systemd (an image being built, a chroot) only enable.
if [[ -d /run/systemd/system ]]; then
    systemctl daemon-reload
    systemctl enable "$SERVICE"
    if [[ "$start" == yes ]]; then
        if systemctl is-active --quiet "$SERVICE"; then
            say "restarting $SERVICE (new binary and unit)"
            systemctl restart "$SERVICE"
        else
            say "starting $SERVICE"
            systemctl start "$SERVICE"
        fi
        systemctl --no-pager --lines=5 status "$SERVICE" || true
    else
        say "enabled, not started: sudo systemctl start $SERVICE"
    fi
else
    systemctl enable "$SERVICE"
    say "systemd is not running here: enabled only; it starts at the next boot"
fi

if [[ "$new_config" == yes ]]; then
    say "edit $CONFIG_DEST (NAS host, base_path, identity_file), then: sudo systemctl restart $SERVICE"
fi
if [[ "$config_invalid" == yes ]]; then
    die "installed, but not started: fix $CONFIG_DEST, check it with 'sudo -u $SVC_USER $BIN_DEST config check --config $CONFIG_DEST', then: sudo systemctl start $SERVICE"
fi
say "done. Logs: journalctl -u $SERVICE -f"
