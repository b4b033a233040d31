#!/usr/bin/env bash
# End-to-end suite of the dji-media-sync unit in a REAL systemd (Debian 12 in systemd-nspawn).
#
#   scripts/e2e-systemd.sh
#
# Boots a minimal debootstrapped Debian 12 with `systemd-nspawn --boot` (no Swift in it), installs
# the Debian package in it with `apt-get install ./dji-media-sync_….deb` (scripts/build-deb.sh), and
# drives the hardened unit (user dji-media-sync, no capabilities) the way an operator does (not
# started on the placeholder config, start, status, journal, SIGUSR1, deletion of media another
# user wrote, reload, restart, upgrade, watchdog, stop, exit 78, S3, metrics drop-in, remove, purge). The NAS is the private test sshd
# (scripts/test-sshd.sh) on the host's 127.0.0.1: the container shares the host network.
# Prints one PASS/FAIL line per check and last `e2e-systemd: N passed, M failed`; exits 1 on any
# failure. Run as root on Debian 12; it calls scripts/install-deps.sh first.
#
# Environment:
#   DMS_E2E_DEB      a .deb built before by scripts/build-deb.sh, instead of building one
#   DMS_E2E_CACHE    where the Debian root is cached (default /var/cache/dms-e2e)
#   DMS_E2E_MIRROR   Debian mirror for debootstrap (default http://deb.debian.org/debian)
#   DMS_E2E_LOGS     where the container's console log and journal are kept (default /var/tmp/dms-e2e-logs)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly repo
readonly SERVICE=dji-media-sync
readonly CACHE=${DMS_E2E_CACHE:-/var/cache/dms-e2e}
readonly MIRROR=${DMS_E2E_MIRROR:-http://deb.debian.org/debian}
readonly LOGS=${DMS_E2E_LOGS:-/var/tmp/dms-e2e-logs}
readonly SSHD_DIR=/tmp/dms-e2e-sshd
readonly NAS_ROOT=/tmp/dms-test-nas     # test.sh removes folders here older than an hour
readonly MEDIA=/data/dji/media          # in the container; the unit's ReadWritePaths=
readonly CT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The package's Depends (scripts/build-deb.sh prints them), so that `apt-get install ./….deb`
# installs nothing else: a Depends the root lacks fails the install check ("N newly installed").
# (adduser, libc6 and libgcc-s1 come with these.)
readonly PACKAGES=systemd,dbus,openssh-client,libsqlite3-0,libcurl4,libssl3,libsystemd0,libstdc++6,libxml2,procps,ca-certificates
readonly ID_PREFIX=7d5a0c1e4b2f4f0a9c3e8b6d1a2f3c   # MediaSync/SyncEvent.swift
readonly ID_STARTED=${ID_PREFIX}01 ID_FINISHED=${ID_PREFIX}02 ID_SYNCED=${ID_PREFIX}03
readonly ID_DELETED=${ID_PREFIX}05 ID_RELOADED=${ID_PREFIX}07 ID_REJECTED=${ID_PREFIX}08

t_start=$(date +%s)
passed=0
failed=0
why=""            # reason of the last failed step, set by the helpers
work=""           # per-run folder (overlay upper/work/merged), removed at exit
nspawn_pid=""
pid1=""           # the container's PID 1, as seen from the host
overlay_mounted=no
nas_base=""
stopped_pids=()   # sshd processes SIGSTOPped by the watchdog check; SIGCONT at exit whatever happens

# Helpers (check, wait_for, ct, journal queries) and the cleanup at exit.
# shellcheck source=scripts/e2e-systemd-lib.sh
source "$repo/scripts/e2e-systemd-lib.sh"

# ---------------------------------------------------------------------------------------------
# Setup

[[ "$(id -u)" -eq 0 ]] || die "must run as root (systemd-nspawn, debootstrap, the test sshd)"
"$repo/scripts/install-deps.sh"

# One run at a time on this machine: the container's cgroups (payload/, supervisor/ under ours),
# the sshd folder and the root cache are shared.
mkdir -p "$CACHE"
exec 8>"$CACHE/.lock"
flock -w 1800 8 || die "timed out waiting for another e2e-systemd run ($CACHE/.lock)"

trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. The package (its binary: release, Swift stdlib linked in; the container has no toolchain).
if [[ -n "${DMS_E2E_DEB:-}" ]]; then
    deb=$DMS_E2E_DEB
else
    log "building the .deb (scripts/build-deb.sh --no-lintian)"
    deb=$("$repo/scripts/build-deb.sh" --no-lintian --out /var/tmp/dms-e2e-dist 2>/tmp/dms-e2e-build.log) \
        || { tail -n 40 /tmp/dms-e2e-build.log >&2; die "scripts/build-deb.sh failed (log: /tmp/dms-e2e-build.log)"; }
fi
[[ -f "$deb" ]] || die "no such .deb: $deb"
deb=$(realpath "$deb")

# 2. The root: debootstrapped once into the cache, named after what it contains. Built in a temp
#    folder and renamed into place, so an interrupted debootstrap never leaves a root that is reused.
key=$(printf '%s\n' bookworm minbase "$PACKAGES" | sha256sum | cut -c1-12)
root="$CACHE/bookworm-$key"
if [[ ! -d "$root" ]]; then
    log "debootstrap Debian 12 (minbase + $PACKAGES) into $root"
    t0=$(date +%s)
    rm -rf --one-file-system -- "$CACHE"/.bookworm-*.tmp
    tmp_root=$(mktemp -d "$CACHE/.bookworm-$key.XXXXXX.tmp")
    if ! debootstrap --variant=minbase --include="$PACKAGES" bookworm "$tmp_root/root" "$MIRROR" \
        >"$tmp_root/debootstrap.log" 2>&1; then
        tail -n 30 "$tmp_root/debootstrap.log" >&2
        cp "$tmp_root/debootstrap.log" /tmp/dms-e2e-debootstrap.log
        rm -rf --one-file-system -- "$tmp_root"
        die "debootstrap failed (log: /tmp/dms-e2e-debootstrap.log)"
    fi
    # Nothing in the container needs apt's downloads.
    rm -f "$tmp_root/root/var/cache/apt/archives/"*.deb
    mv -T -- "$tmp_root/root" "$root"
    rm -rf --one-file-system -- "$tmp_root"
    # Roots of an older package list.
    find "$CACHE" -mindepth 1 -maxdepth 1 -type d -name 'bookworm-*' ! -path "$root" \
        -exec rm -rf --one-file-system -- {} +
    log "root ready in $(($(date +%s) - t0)) s"
fi

# 3. A writable root for this run: an overlay on the cached root (nothing copied, the cache stays
#    pristine, the upper layer is thrown away at the end). nspawn's own --overlay cannot replace the
#    root, and --ephemeral copies the whole tree on ext4; overlayfs is mounted here instead, with a
#    plain copy as the fallback where overlayfs is unavailable.
work=$(mktemp -d /var/tmp/dms-e2e.XXXXXX)
mkdir -p "$work/upper" "$work/ovl" "$work/merged"
# The host's copy of the packaged binary, for the admin commands run from the host (bucket, presign).
dpkg-deb -x "$deb" "$work/deb" || die "dpkg-deb -x $deb failed"
binary=$work/deb/usr/bin/$SERVICE
if mount -t overlay overlay -o "lowerdir=$root,upperdir=$work/upper,workdir=$work/ovl" "$work/merged" 2>"$work/mount.err"; then
    overlay_mounted=yes
else
    log "overlayfs unavailable ($(cat "$work/mount.err")); copying the root"
    cp -a --reflink=auto -T -- "$root" "$work/merged"
fi

# 4. The NAS: the private sshd on the host, and a base folder owned by its user.
sshd_env=$("$repo/scripts/test-sshd.sh" start "$SSHD_DIR")
while IFS='=' read -r name value; do
    case "$name" in DMS_SSH_PORT | DMS_SSH_USER | DMS_SSH_KEY | DMS_SSH_KNOWN_HOSTS | DMS_SSHD_PID) printf -v "$name" '%s' "$value" ;; esac
done <<<"$sshd_env"
[[ -n "${DMS_SSH_PORT:-}" && -n "${DMS_SSHD_PID:-}" ]] || die "test-sshd.sh start printed no port/pid: $sshd_env"
install -d -m 0755 "$NAS_ROOT"
nas_base=$(mktemp -d "$NAS_ROOT/e2e-XXXXXX")
chown "$DMS_SSH_USER:$DMS_SSH_USER" "$nas_base"
chmod 0755 "$nas_base"

# 5. Boot. --register=no --keep-unit: no system bus on this host (plain --boot fails on it). The
#    container shares the host's network, so the daemon reaches the sshd on 127.0.0.1.
mkdir -p "$LOGS"
log "booting the container"
systemd-nspawn --boot --register=no --keep-unit --quiet --console=read-only \
    --machine="dms-e2e-$$" -D "$work/merged" --bind-ro="$repo:/e2e/repo" \
    </dev/null >"$LOGS/console.log" 2>&1 &
nspawn_pid=$!

find_pid1() {
    local p
    for p in $(descendants "$nspawn_pid"); do
        if grep -qE "^NSpid:[[:space:]]+${p}[[:space:]]+1$" "/proc/$p/status" 2>/dev/null; then
            pid1=$p
            return 0
        fi
    done
    kill -0 "$nspawn_pid" 2>/dev/null || { why="systemd-nspawn exited (console log: $LOGS/console.log)"; return 2; }
    return 1
}
system_up() {
    local state
    kill -0 "$nspawn_pid" 2>/dev/null || return 2
    state=$(ct systemctl is-system-running 2>/dev/null || true)
    [[ "$state" == running || "$state" == degraded ]]
}
boot() {
    wait_for 30 find_pid1 || { why=${why:-"no process with NSpid <pid> 1 under systemd-nspawn $nspawn_pid within 30 s"}; return 1; }
    wait_for 90 system_up || { why="is-system-running: $(ct systemctl is-system-running 2>&1 || true) after 90 s (console log: $LOGS/console.log)"; return 1; }
    local state
    state=$(ct systemctl is-system-running 2>/dev/null || true)
    if [[ "$state" == degraded ]]; then log "container degraded; failed units: $(ct systemctl --failed --plain --no-legend 2>&1 | tr '\n' ' ')"; fi
}
t_boot=$(now_s)
check "boot: systemd in the container reaches running/degraded" boot
[[ -n "$pid1" ]] && system_up || exit 1
log "container PID 1 is host pid $pid1 (up in $(awk -v a="$t_boot" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }') s)"

# ---------------------------------------------------------------------------------------------
# Install inside the container

config_json() { # config_json BASE: the test config
    cat <<JSON
{
  "local": {
    "media_roots": ["$MEDIA"],
    "extensions": ["jpg", "dng", "mp4", "srt"],
    "min_file_age_seconds": 30
  },
  "destinations": [
    {
      "type": "nas",
      "name": "nas",
      "host": "127.0.0.1",
      "port": $DMS_SSH_PORT,
      "user": "$DMS_SSH_USER",
      "identity_file": "/etc/dji-media-sync/id_ed25519",
      "known_hosts_file": "/etc/dji-media-sync/known_hosts",
      "base_path": "$1",
      "connect_timeout_seconds": 10,
      "server_alive_interval_seconds": 15,
      "server_alive_count_max": 4
    }
  ],
  "delete_policy": { "delete_sources": true, "delay_minutes": 0 },
  "concurrency_control": {
    "lock_file": "/run/dji-media-sync/sync.lock",
    "stop_timeout_seconds": 10
  },
  "schedule": { "interval_minutes": 10 },
  "state": { "directory": "/var/lib/dji-media-sync", "runtime_directory": "/run/dji-media-sync" },
  "logging": { "level": "info" }
}
JSON
}

# Sample media: DJI names (the date in the name decides the NAS folder), mtimes two hours old (older
# than min_file_age_seconds). Their SHA-256 is recorded here before the daemon deletes them.
declare -A sample_sha=()
samples=(DJI_20240501120000_0001_D.JPG DJI_20240501120005_0002_D.MP4 DJI_20240501120005_0002_D.SRT DJI_20240502083000_0003_D.DNG)
readonly SVC_USER=dji-media-sync MEDIA_GROUP=dji-media WRITER=dock-writer
ct_apt() { ct env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Dpkg::Use-Pty=0 "$@"; }
# stat_is PATH OWNER:GROUP MODE (in the container)
stat_is() {
    local got
    got=$(ct stat -c '%U:%G %a' "$1" 2>&1) || { why="stat $1: $got"; return 1; }
    [[ "$got" == "$2 $3" ]] || { why="$1 is $got, expected $2 $3"; return 1; }
}
install_deb() {
    local out rc=0
    install -d -m 0755 "$(ctpath /e2e/stage)" && cp "$deb" "$(ctpath /e2e/stage/)" || { why="cannot stage the .deb"; return 1; }
    ! ct sh -c 'ls -d /usr/lib/swift* /usr/share/swift* 2>/dev/null' | grep -q . || { why="a Swift toolchain in the root"; return 1; }
    out=$(ct_apt install "/e2e/stage/$(basename "$deb")" 2>&1) || rc=$?
    printf '%s\n' "$out" >"$LOGS/apt-install.txt"
    [[ $rc -eq 0 ]] || { why="apt-get install exited $rc: $(tail -n 5 <<<"$out" | tr '\n' ' ')"; return 1; }
    grep -q '^0 upgraded, 1 newly installed' <<<"$out" || { why="apt installed more than the package: $(grep -m1 'newly installed' <<<"$out")"; return 1; }
    grep -qF 'installed and enabled, not started' <<<"$out" || { why="postinst did not say it did not start (log: $LOGS/apt-install.txt)"; return 1; }
    ct getent passwd "$SVC_USER" >/dev/null || { why="no user $SVC_USER"; return 1; }
    [[ "$(ct systemctl is-enabled "$SERVICE" 2>&1)" == enabled ]] || { why="unit not enabled after install"; return 1; }
    is_active inactive || { why="started on the placeholder config: $(ct systemctl is-active "$SERVICE" 2>&1)"; return 1; }
    stat_is /etc/dji-media-sync "root:$SVC_USER" 750 && stat_is "/etc/dji-media-sync/media_sync_config.json" "root:$SVC_USER" 640 || return 1
    out=$(ct ldd /usr/bin/dji-media-sync 2>&1) || { why="ldd in the container failed: $out"; return 1; }
    ! grep -q 'not found\|libswift\|libFoundation' <<<"$out" || { why="ldd in the container: $(grep 'not found\|libswift\|libFoundation' <<<"$out" | tr '\n' ' ')"; return 1; }
}
check "install: apt-get install ./$(basename "$deb"): user $SVC_USER, config root:$SVC_USER 0640, unit enabled, NOT started on the placeholder config" install_deb

# The operator's part (docs/install.md): key and known_hosts readable by the service's group, the
# config, and the media folder of the dock's writer: group dji-media, setgid, group-writable; the
# service joins that group through a drop-in. The samples are the writer's, 0640: only the group
# gives the service read access, and only the folder's group write access lets it delete them.
setup_operator() {
    local name size=1 out rc=0
    install -m 0640 "$DMS_SSH_KEY" "$(ctpath /etc/dji-media-sync/id_ed25519)"
    install -m 0640 "$DMS_SSH_KNOWN_HOSTS" "$(ctpath /etc/dji-media-sync/known_hosts)"
    ct chgrp "$SVC_USER" /etc/dji-media-sync/id_ed25519 /etc/dji-media-sync/known_hosts || { why="chgrp of the key failed"; return 1; }
    config_json "$nas_base" >"$(ctpath /etc/dji-media-sync/media_sync_config.json)"
    ct groupadd --system "$MEDIA_GROUP" && ct useradd --system -g "$MEDIA_GROUP" "$WRITER" || { why="cannot create the writer user"; return 1; }
    ct install -d -o "$WRITER" -g "$MEDIA_GROUP" -m 2775 "$MEDIA" || { why="cannot create $MEDIA"; return 1; }
    for name in "${samples[@]}"; do
        head -c $((size * 317 * 1024 + size)) /dev/urandom >"$(ctpath "$MEDIA/$name")"
        touch -d '2 hours ago' "$(ctpath "$MEDIA/$name")"
        sample_sha[$name]=$(sha256sum <"$(ctpath "$MEDIA/$name")" | cut -d' ' -f1)
        size=$((size * 3))
        ct chown "$WRITER:$MEDIA_GROUP" "$MEDIA/$name" && ct chmod 0640 "$MEDIA/$name" || { why="cannot chown $name"; return 1; }
    done
    install -d -m 0755 "$(ctpath "/etc/systemd/system/$SERVICE.service.d")"
    printf '[Service]\nSupplementaryGroups=%s\n' "$MEDIA_GROUP" >"$(ctpath "/etc/systemd/system/$SERVICE.service.d/media-group.conf")"
    ct systemctl daemon-reload || { why="daemon-reload failed"; return 1; }
    out=$(ct runuser -u "$SVC_USER" -- dji-media-sync config check 2>&1) || rc=$?
    [[ $rc -eq 0 ]] || { why="config check as $SVC_USER exited $rc: $out"; return 1; }
}
check "setup: key root:$SVC_USER 0640, media of user $WRITER (0640) in a setgid $MEDIA_GROUP folder, media-group drop-in; config check as $SVC_USER passes" setup_operator
config_file=/etc/dji-media-sync/media_sync_config.json
good_config="$work/config.good"
cp -p "$(ctpath "$config_file")" "$good_config" 2>/dev/null || config_json "$nas_base" >"$good_config"
# Puts the good config back (after a check that broke it, whatever that check's outcome).
restore_config() { cp -p "$good_config" "$(ctpath "$config_file")"; }

# a. to i.: the service as an operator drives it.
# shellcheck source=scripts/e2e-systemd-service.sh
source "$repo/scripts/e2e-systemd-service.sh"

# j. metrics drop-in, h. apt remove and purge, k. source install.
# shellcheck source=scripts/e2e-systemd-package.sh
source "$repo/scripts/e2e-systemd-package.sh"
