#!/usr/bin/env bash
# Removes the dji-media-sync service. Safe to run again.
#
#   sudo ./uninstall_daemon.sh            stop, disable, remove the unit and the binary;
#                                         keep /etc/dji-media-sync and /var/lib/dji-media-sync
#   sudo ./uninstall_daemon.sh --purge    also remove the config, the state (ledger, delete
#                                         queue), local drop-ins and the user dji-media-sync
# For a source install (install_daemon.sh); the Debian package: apt remove / apt purge.
set -euo pipefail

readonly SERVICE=dji-media-sync
readonly BIN_DEST=/usr/local/bin/dji-media-sync
readonly UNIT_DEST=/etc/systemd/system/dji-media-sync.service
readonly DROPIN_DIR=/etc/systemd/system/dji-media-sync.service.d
readonly CONFIG_DIR=/etc/dji-media-sync
readonly STATE_DIR=/var/lib/dji-media-sync
readonly RUNTIME_DIR=/run/dji-media-sync
readonly DOC_DIR=/usr/local/share/doc/dji-media-sync

purge=no
usage() { sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
die() { echo "uninstall_daemon.sh: $*" >&2; exit 1; }
say() { echo "==> $*"; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --purge) purge=yes; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

[[ "$(id -u)" -eq 0 ]] || die "must run as root (try: sudo $0${*:+ $*})"
command -v systemctl >/dev/null || die "systemctl not found"

booted=no
[[ -d /run/systemd/system ]] && booted=yes

if [[ -e "$UNIT_DEST" ]]; then
    if [[ "$booted" == yes ]]; then
        say "stopping and disabling $SERVICE"
        systemctl disable --now "$SERVICE" || true
    else
        systemctl disable "$SERVICE" || true
    fi
fi

for f in "$UNIT_DEST" "$BIN_DEST"; do
    if [[ -e "$f" ]]; then say "removing $f"; rm -f -- "$f"; fi
done
rm -rf -- "$DOC_DIR"

if [[ "$purge" == yes ]]; then
    for d in "$DROPIN_DIR" "$CONFIG_DIR" "$STATE_DIR" "$RUNTIME_DIR"; do
        if [[ -e "$d" ]]; then say "purging $d"; rm -rf -- "$d"; fi
    done
    # Not while the Debian package (which owns the user then) is installed.
    if getent passwd dji-media-sync >/dev/null && ! dpkg-query -W dji-media-sync >/dev/null 2>&1; then
        say "removing user dji-media-sync"
        userdel dji-media-sync || true
        getent group dji-media-sync >/dev/null && { groupdel dji-media-sync || true; }
    fi
else
    for d in "$CONFIG_DIR" "$STATE_DIR" "$DROPIN_DIR"; do
        if [[ -e "$d" ]]; then say "kept $d (remove with --purge)"; fi
    done
fi

if [[ "$booted" == yes ]]; then
    systemctl daemon-reload
    systemctl reset-failed "$SERVICE" 2>/dev/null || true
fi
say "done"
