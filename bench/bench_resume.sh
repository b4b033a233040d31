#!/usr/bin/env bash
# Benchmark: what a transfer cut at 90 % sends again, dji-media-sync (resume_min_bytes) against
# rsync --partial --append-verify, on loopback with the private test sshd (scripts/test-sshd.sh).
#
#   bench/bench_resume.sh [--cache DIR] [--scratch-path PATH] [--cut PERCENT] [--bin PATH]
#
# One file of 1 GiB (the large set of bench_nas.sh, generated once into the cache). Each tool sends
# it paced (50 MB/s) until the NAS holds PERCENT (default 90) of it, then the tool's ssh data
# connection is killed (SIGKILL, by pid; "the cut" is what the NAS held then); then the next
# attempt runs to the end:
#   - dji-media-sync: `sync --once` reconnects in the same cycle and resumes (its log line
#     "resumed the partial copy at byte N" is shown);
#   - rsync: the cut run, then a second `rsync --partial --append-verify`.
# What a tool sent after the cut is measured outside it, the same way for both: the growth, from the
# cut to the end, of the bytes all its ssh processes read (/proc/PID/io rchar, polled every 20 ms;
# dji-media-sync's ssh master reads the data: its session clients pass their pipes to it).
# The published copy is compared with the source (SHA-256) in both cases. Ends with:
#   RESULT set=cut90_1gib resent_fraction=<x> peer_resent_fraction=<y>
# where a fraction is (bytes sent by the next attempt - bytes missing at the cut) / file size: the
# share of the file sent twice (0 = only the missing part was sent; slightly below 0 when bytes in
# flight at the cut still reached the NAS). Measured here (2 cores, loaded, debug build):
#   RESULT set=cut90_1gib resent_fraction=0.0011 peer_resent_fraction=-0.0002   (an earlier run: 0.0031, -0.0003)
#
# Needs root (the test sshd creates the user dms-nas). DMS_BENCH_CACHE: data cache (default
# /var/tmp/dms-bench-cache). --bin: an already built dji-media-sync (else a debug build with
# --scratch-path: the bench measures bytes, not speed).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${DMS_BENCH_CACHE:-/var/tmp/dms-bench-cache}
scratch=${DMS_SCRATCH_PATH:-.build}
cut=90
dms=
readonly sshd_dir=/tmp/dms-bench-resume-sshd
readonly work=/tmp/dms-bench-resume-work
readonly dest=/tmp/dms-bench-resume-nas/dest
readonly set=large_1x1GiB size=1073741824 pace=50000000

while [[ $# -gt 0 ]]; do
    case "$1" in
        --cache) cache=${2:?--cache needs a folder}; shift 2 ;;
        --scratch-path) scratch=${2:?--scratch-path needs a path}; shift 2 ;;
        --cut) cut=${2:?--cut needs a percentage}; shift 2 ;;
        --bin) dms=${2:?--bin needs a path}; shift 2 ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
        *) echo "bench: unknown argument: $1" >&2; exit 2 ;;
    esac
done
[[ "$cut" =~ ^[1-9][0-9]?$ ]] || { echo "bench: --cut must be 1 to 99" >&2; exit 2; }

# shellcheck source=bench/common.sh
source "$repo/bench/common.sh"
[[ "$(id -u)" -eq 0 ]] || die "run as root (the test sshd needs it)"

cleanup() {
    "$repo/scripts/test-sshd.sh" stop "$sshd_dir" || true
    rm -rf -- "$work" "$(dirname "$dest")"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
eval "$("$repo/scripts/test-sshd.sh" start "$sshd_dir")"
ssh_opts="-F none -p $DMS_SSH_PORT -i $DMS_SSH_KEY -o IdentitiesOnly=yes -o UserKnownHostsFile=$DMS_SSH_KNOWN_HOSTS"
ssh_opts+=" -o StrictHostKeyChecking=yes -o BatchMode=yes"

mkdir -p -- "$cache"
generate_set "$set" 1 "$size" 20250103 MP4
if [[ -z "$dms" ]]; then
    (cd "$repo" && swift build --scratch-path "$scratch" --product dji-media-sync >&2)
    dms="$(cd "$repo" && swift build --scratch-path "$scratch" --show-bin-path)/dji-media-sync"
fi
[[ -x "$dms" ]] || die "no binary at $dms"
want=$((size * cut / 100))

fresh_dest() {
    rm -rf -- "$dest"
    install -d -m 0755 -o "$DMS_SSH_USER" -g "$DMS_SSH_USER" "$(dirname "$dest")" "$dest"
}

# largest FIND_ARGS...: the size of the largest file under $dest matching them (0 if none).
largest() { find "$dest" -type f "$@" -printf '%s\n' 2>/dev/null | sort -n | tail -n 1 | grep . || echo 0; }

# matching WORD...: the pids whose command line contains every WORD (one argument each).
matching() {
    local files=(/proc/[0-9]*/cmdline) w f
    for w in "$@"; do
        mapfile -t files < <(grep -laF -- "$w" "${files[@]}" 2>/dev/null)
        ((${#files[@]})) || return 0
    done
    for f in "${files[@]}"; do f=${f#/proc/}; echo "${f%/cmdline}"; done
}

# cut_when PATTERN WORD...: once a file named PATTERN under $dest holds $want bytes, SIGKILL the
# processes whose command line holds every WORD (this script's own ssh clients). Prints what the
# NAS held then.
cut_when() {
    local pattern=$1 deadline=$((SECONDS + 300)) pids held
    shift
    until [[ "$(largest -name "$pattern")" -ge "$want" ]]; do
        ((SECONDS < deadline)) || die "the transfer never reached $cut %"
        sleep 0.01
    done
    pids=$(matching "$@" | tr '\n' ' ')
    [[ -n "$pids" ]] || return 1
    held=$(largest -name "$pattern")
    # (A short-lived ssh -O check, or the grep that found it, may be gone already.)
    # shellcheck disable=SC2086
    kill -9 $pids 2>/dev/null || true
    log "cut at $held bytes: killed $pids"
    echo "$held"
}

# watch_ssh DIR WORD...: until stopped, keeps DIR/<pid> = rchar (bytes read so far) of every
# process whose command line holds every WORD.
watch_ssh() {
    local dir=$1 pid r
    shift
    mkdir -p -- "$dir"
    while :; do
        for pid in $(matching "$@"); do
            r=$(sed -n 's/^rchar: //p' "/proc/$pid/io" 2>/dev/null) || continue
            [[ -n "$r" ]] && echo "$r" >"$dir/$pid"
        done
        sleep 0.02
    done
}

# read_so_far DIR: the bytes read by all the watched processes, as last seen.
read_so_far() {
    local total=0 f
    for f in "$1"/*; do [[ -f "$f" ]] && total=$((total + $(<"$f"))); done
    echo "$total"
}

check_copy() { # check_copy TOOL FILE
    [[ -f "$2" ]] || die "$1: no copy at $2"
    [[ "$(sha256sum <"$2")" == "$(sha256sum <"$work/src/"*.MP4)" ]] || die "$1: the copy differs from the source"
}

fraction() { awk -v s="$1" -v c="$2" -v n="$size" 'BEGIN { printf "%.4f", (s - (n - c)) / n }'; }

# --- dji-media-sync -----------------------------------------------------------------------------------
fresh_dest
fresh_source "$set"
mkdir -p -- "$work/state" "$work/run"
cat >"$work/config.json" <<JSON
{
  "local": { "media_roots": ["$work/src"], "min_file_age_seconds": 0 },
  "destinations": [ { "type": "nas", "name": "nas", "host": "$DMS_SSH_HOST", "port": $DMS_SSH_PORT,
      "user": "$DMS_SSH_USER", "identity_file": "$DMS_SSH_KEY", "known_hosts_file": "$DMS_SSH_KNOWN_HOSTS",
      "base_path": "$dest", "ssh_config_file": "none", "resume_min_bytes": 67108864 } ],
  "delete_policy": { "delete_sources": false, "delay_minutes": 10080 },
  "retry_policy": { "base_delay_seconds": 0 },
  "concurrency_control": { "lock_file": "$work/run/sync.lock", "bandwidth_limit_bytes_per_second": $pace },
  "state": { "directory": "$work/state", "runtime_directory": "$work/run" },
  "logging": { "level": "info" }
}
JSON
"$dms" sync --once --config "$work/config.json" >"$work/dms.out" 2>&1 &
dms_pid=$!
watch_ssh "$work/io.dms" "ControlPath=$work/run/" &
watcher=$!
read -r dms_cut < <(cut_when '.dms-*' ControlMaster=no "ControlPath=$work/run/") || die "no dji-media-sync connection to cut"
at_cut=$(read_so_far "$work/io.dms")
[[ "$dms_cut" -lt "$size" ]] || die "dji-media-sync finished before it was cut (lower the pace)"
rc=0; wait "$dms_pid" || rc=$?
kill "$watcher"; wait "$watcher" 2>/dev/null || true
[[ "$rc" -eq 0 ]] || { cat "$work/dms.out" >&2; die "dji-media-sync exited with $rc"; }
check_copy dji-media-sync "$(find "$dest" -type f -name 'DJI_*' | head -n 1)"
dms_sent=$(($(read_so_far "$work/io.dms") - at_cut))
grep -i 'partial copy\|reconnecting' "$work/dms.out" >&2 || log "dji-media-sync did not resume"
log "dji-media-sync: cut at $dms_cut bytes, sent $dms_sent bytes after it"

# --- rsync --partial --append-verify -----------------------------------------------------------------
fresh_dest
# (--append-verify writes in place: the partial file has the final name.)
rsync_run() { rsync -a --partial --append-verify --bwlimit=$((pace / 1000)) -e "ssh $ssh_opts" \
                  "$work/src/" "$DMS_SSH_USER@$DMS_SSH_HOST:$dest/"; }
rsync_run >"$work/rsync1.out" 2>&1 &
rsync_pid=$!
watch_ssh "$work/io.rsync" "UserKnownHostsFile=$DMS_SSH_KNOWN_HOSTS" --server &
watcher=$!
read -r rsync_cut < <(cut_when 'DJI_*' "UserKnownHostsFile=$DMS_SSH_KNOWN_HOSTS" --server) || die "no rsync connection to cut"
at_cut=$(read_so_far "$work/io.rsync")
[[ "$rsync_cut" -lt "$size" ]] || die "rsync finished before it was cut (lower the pace)"
wait "$rsync_pid" || true
# The remote rsync ends once it sees the stream end (it may still write what it had).
deadline=$((SECONDS + 60))
while [[ -n "$(matching rsync --server "$dest/")" ]]; do
    ((SECONDS < deadline)) || die "the cut rsync's remote end did not exit"
    sleep 0.05
done
log "rsync kept a partial file of $(largest -name 'DJI_*') bytes"
rsync_run >"$work/rsync2.out" 2>&1 || { cat "$work/rsync2.out" >&2; die "the second rsync failed"; }
kill "$watcher"; wait "$watcher" 2>/dev/null || true
check_copy rsync "$(find "$dest" -maxdepth 1 -type f -name 'DJI_*' | head -n 1)"
rsync_sent=$(($(read_so_far "$work/io.rsync") - at_cut))
log "rsync: cut at $rsync_cut bytes, sent $rsync_sent bytes after it"

echo "RESULT set=cut${cut}_1gib resent_fraction=$(fraction "$dms_sent" "$dms_cut") peer_resent_fraction=$(fraction "$rsync_sent" "$rsync_cut")"
