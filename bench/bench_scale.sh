#!/usr/bin/env bash
# Benchmark: does a cycle cost what is new, not everything ever synced? dji-media-sync against
# rsync (and against itself on an empty ledger) on the private test sshd on loopback.
#
#   bench/bench_scale.sh [--runs N] [--sets noop_100k,history_1m,year_soak,status_1m] [--cache DIR]
#                        [--scratch-path PATH] [--soak-cycles N]
#
# Sets (data generated once into the cache; the tools alternate; medians of --runs, default 3):
#   first_100k / noop_100k  100k files of 1 KiB in 100 folders, delete_sources off. Each run: the
#                first sync of each tool into an empty destination (first_100k), then a sync of the
#                unchanged tree (noop_100k). Peer: rsync -a -e ssh.
#   history_1m   a ledger pre-filled with 1M rows of copied-and-deleted sources (dms-benchtool, the
#                store's own code) plus 1000 new files of 1 KiB, vs the same 1000 files on an empty
#                ledger. Peer: dji-media-sync with no history.
#   year_soak    --soak-cycles (default 200) real cycles of 200 new files of 1 KiB each,
#                delay_minutes 0 (each cycle deletes the sources the one before copied): the median
#                of the last 20 cycles vs the first 20. Peer: the first cycles.
#   status_1m    `status` and `verify --since 24h` over the 1M-row ledger: time and peak RSS (no
#                peer: target status <= 1 s, RSS <= 64 MiB).
# Each set ends with
#   RESULT set=<name> dms_median_s=<x> peer_median_s=<y> ratio=<x/y> dms_peak_rss_mib=<z>
# and first_100k also with the busy CPU seconds of the whole machine (both ends) per 1000 files:
#   CPU set=first_100k dms_cpu_s_per_1k_files=<a> rsync_cpu_s_per_1k_files=<b> ratio=<a/b>
# Targets: noop_100k <= 1.0x rsync and <= 1 s; first_100k <= 1.5x; history_1m <= 1.1;
# year_soak <= 1.2; peak RSS <= 64 MiB everywhere.
#
# Needs root (the test sshd creates its user). Environment: DMS_BENCH_CACHE (default
# /var/tmp/dms-bench-cache), DMS_SCRATCH_PATH (swift build scratch path, default .build).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=3
sets_arg=noop_100k,history_1m,year_soak,status_1m
soak_cycles=200
cache=${DMS_BENCH_CACHE:-/var/tmp/dms-bench-cache}
scratch=${DMS_SCRATCH_PATH:-.build}
readonly sshd_dir=/tmp/dms-bench-scale-sshd
readonly work=/tmp/dms-bench-scale-work
readonly nasfs=/tmp/dms-bench-scale-nas
readonly dest=$nasfs/dest

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) runs=${2:?--runs needs a number}; shift 2 ;;
        --sets) sets_arg=${2:?--sets needs a list}; shift 2 ;;
        --soak-cycles) soak_cycles=${2:?--soak-cycles needs a number}; shift 2 ;;
        --cache) cache=${2:?--cache needs a folder}; shift 2 ;;
        --scratch-path) scratch=${2:?--scratch-path needs a path}; shift 2 ;;
        -h | --help) usage ;;
        *) echo "bench: unknown argument: $1" >&2; usage ;;
    esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --runs must be a positive integer" >&2; exit 2; }
[[ "$soak_cycles" =~ ^[1-9][0-9]*$ && "$soak_cycles" -ge 40 ]] || { echo "bench: --soak-cycles must be >= 40" >&2; exit 2; }
IFS=, read -r -a sets <<<"$sets_arg"
for s in "${sets[@]}"; do
    case "$s" in noop_100k | history_1m | year_soak | status_1m) ;; *) echo "bench: unknown set '$s'" >&2; exit 2 ;; esac
done
wants() { [[ ",$sets_arg," == *,"$1",* ]]; }

# shellcheck source=bench/common.sh
source "$repo/bench/common.sh"

[[ "$(id -u)" -eq 0 ]] || die "run as root (the test sshd needs it)"
"$repo/scripts/install-deps.sh" >&2

cleanup() {
    "$repo/scripts/test-sshd.sh" stop "$sshd_dir" || true
    rm -rf -- "$work" "$dest"
    if mountpoint -q "$nasfs"; then umount "$nasfs" || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
eval "$("$repo/scripts/test-sshd.sh" start "$sshd_dir")"
# The NAS's disk is a tmpfs: what is measured is the tools, not this machine's ext4. (Measured: after
# a few runs that each created and deleted 100k files, ext4's inode allocator — recently_deleted,
# find_inode_bit under a contended group lock — took most of the CPU of any tool creating files,
# rsync 1.0 s → 5–7 s for 10k files.)
mkdir -p -- "$nasfs"
mountpoint -q "$nasfs" || mount -t tmpfs -o size=8g,mode=0755 tmpfs "$nasfs"
readonly ciphers=aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-gcm@openssh.com
ssh_opts="-F none -p $DMS_SSH_PORT -i $DMS_SSH_KEY -o IdentitiesOnly=yes -o UserKnownHostsFile=$DMS_SSH_KNOWN_HOSTS"
ssh_opts+=" -o StrictHostKeyChecking=yes -o BatchMode=yes -o Ciphers=$ciphers"
log "NAS: $DMS_SSH_USER@$DMS_SSH_HOST:$DMS_SSH_PORT (sshd pid $DMS_SSHD_PID)"

log "building dji-media-sync and dms-benchtool (release, scratch path $scratch) ..."
# The build the .deb ships: Swift's runtime linked in (the bench tool the same way, one build).
(cd "$repo" && swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product dji-media-sync >&2 \
    && swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product dms-benchtool >&2)
bin="$(cd "$repo" && swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)"
dms="$bin/dji-media-sync"
[[ -x "$dms" && -x "$bin/dms-benchtool" ]] || die "no binaries in $bin"

mkdir -p -- "$cache" "$work"

# tree NAME COUNT FOLDERS: $cache/NAME with COUNT files of 1 KiB spread over FOLDERS folders, an
# hour old, generated once.
tree() {
    local target="$cache/$1"
    [[ -f "$target.complete" && -d "$target" ]] && return 0
    log "generating $1 into $target (once) ..."
    rm -rf -- "$target" "$target.partial" "$target.complete"
    python3 - "$target.partial" "$2" "$3" "$1" <<'PY'
import datetime, os, sys, time
folder, count, folders, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
mtime = time.time() - 3600
# A dock writes ~1000 files a day: folder d holds day d's flights (DJI names carry the date, so
# each folder lands in its own YYYY/MM/DD on the NAS, as a year of real media would).
first = datetime.datetime(2025, 1, 5, 8, 0, 0)
for d in range(folders):
    os.makedirs(os.path.join(folder, f"dir_{d:03d}"))
for i in range(count):
    d = i % folders
    stamp = (first + datetime.timedelta(days=d, seconds=3 * (i // folders))).strftime("%Y%m%d%H%M%S")
    path = os.path.join(folder, f"dir_{d:03d}", f"DJI_{stamp}_{i:06d}_{tag[:4]}.JPG")
    with open(path, "wb") as f:
        f.write(os.urandom(1024))
    os.utime(path, (mtime, mtime))
PY
    mv -- "$target.partial" "$target"
    touch -- "$target.complete"
}

fresh_dest() {
    rm -rf -- "$dest"
    install -d -m 0755 -o "$DMS_SSH_USER" -g "$DMS_SSH_USER" "$dest"
}

# write_config STATE_DIR DELETE(true|false) DELAY_MINUTES
write_config() {
    mkdir -p -- "$1" "$work/run"
    cat >"$work/config.json" <<JSON
{
  "local": { "media_roots": ["$work/src"], "min_file_age_seconds": 0 },
  "destinations": [ { "type": "nas", "name": "nas", "host": "$DMS_SSH_HOST", "port": $DMS_SSH_PORT,
      "user": "$DMS_SSH_USER", "identity_file": "$DMS_SSH_KEY", "known_hosts_file": "$DMS_SSH_KNOWN_HOSTS",
      "base_path": "$dest", "ciphers": "$ciphers" } ],
  "delete_policy": { "delete_sources": $2, "delay_minutes": $3 },
  "storage_management": { "min_free_space_gb": 0 },
  "concurrency_control": { "lock_file": "$work/run/sync.lock" },
  "state": { "directory": "$1", "runtime_directory": "$work/run" },
  "logging": { "level": "warning" }
}
JSON
}

timer_py='import subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()
rc = subprocess.call(cmd)
with open(out, "w") as f:
    f.write(f"{time.monotonic() - t0:.6f}\n")
sys.exit(rc)'

# timed RESULTS_FILE LABEL CMD...: runs CMD, appends "SECONDS RSS_KIB" to RESULTS_FILE and the
# machine's busy CPU seconds to RESULTS_FILE.cpu.
timed() {
    local results=$1 label=$2 rc=0 seconds rss busy_before cpu
    shift 2
    busy_before=$(busy_ticks)
    python3 -c "$timer_py" "$work/seconds" /usr/bin/time -f %M -o "$work/rss" "$@" >"$work/out" 2>&1 || rc=$?
    if [[ "$rc" -ne 0 ]]; then
        tail -n 30 "$work/out" >&2
        die "$label exited with $rc"
    fi
    # The machine's busy CPU seconds for the run: both ends of the loopback (see common.sh).
    cpu=$(awk -v t=$(($(busy_ticks) - busy_before)) -v hz="$ticks_per_second" 'BEGIN { printf "%.2f", t / hz }')
    seconds=$(<"$work/seconds")
    rss=$(tail -n 1 "$work/rss")
    printf 'run %s seconds=%.3f peak_rss_mib=%.1f machine_cpu_s=%s\n' "$label" "$seconds" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$cpu"
    echo "$seconds $rss" >>"$results"
    echo "$cpu" >>"$results.cpu"
}

count_dest() { find "$dest" -type f ! -name '.dms-*' | wc -l; }

log "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"

# --- first_100k and noop_100k --------------------------------------------------------------------
if wants noop_100k; then
    tree scale100k 100000 100
    rm -f -- "$work"/r.first.* "$work"/r.noop.*
    for ((r = 1; r <= runs; r++)); do
        if ((r % 2 == 1)); then order=(rsync dms); else order=(dms rsync); fi
        for tool in "${order[@]}"; do
            fresh_dest
            rm -rf -- "$work/src" "$work/state"
            cp -al -- "$cache/scale100k" "$work/src"
            if [[ "$tool" == rsync ]]; then
                sync_cmd=(rsync -a -e "ssh $ssh_opts" "$work/src/" "$DMS_SSH_USER@$DMS_SSH_HOST:$dest/")
            else
                write_config "$work/state" false 10080
                sync_cmd=("$dms" sync --once --config "$work/config.json")
            fi
            timed "$work/r.first.$tool" "set=first_100k tool=$tool run=$r" "${sync_cmd[@]}"
            [[ "$(count_dest)" -eq 100000 ]] || die "$tool: $(count_dest) files on the NAS after the first sync, expected 100000"
            timed "$work/r.noop.$tool" "set=noop_100k tool=$tool run=$r" "${sync_cmd[@]}"
            [[ "$(count_dest)" -eq 100000 ]] || die "$tool: $(count_dest) files on the NAS after the no-op sync"
        done
    done
    summarise result first_100k "$work/r.first.dms" rsync "$work/r.first.rsync" 64 | sed 's/rsync_median_s/peer_median_s/'
    # CPU per 1000 files, both ends: a noisy shared machine moves it less than wall time.
    for tool in dms rsync; do awk '{ print $1 / 100 }' "$work/r.first.$tool.cpu" >"$work/r.first.$tool.cpu1k"; done
    cpu_ratio CPU first_100k "$work/r.first.dms.cpu1k" dms "$work/r.first.rsync.cpu1k" rsync 1k_files
    summarise result noop_100k "$work/r.noop.dms" rsync "$work/r.noop.rsync" 64 | sed 's/rsync_median_s/peer_median_s/'
fi

# --- history_1m and status_1m ------------------------------------------------------------------------
history_db="$cache/history_1m.state"
if wants history_1m || wants status_1m; then
    if [[ ! -f "$history_db.complete" ]]; then
        log "filling a 1M-row ledger into $history_db (once; the store's own code) ..."
        rm -rf -- "$history_db" "$history_db.complete"
        "$bin/dms-benchtool" fill-history "$history_db" 1000000 "$work/src" "$dest" >&2
        touch -- "$history_db.complete"
    fi
fi
if wants history_1m; then
    tree scalenew1000 1000 10
    rm -f -- "$work"/r.hist.*
    for ((r = 1; r <= runs; r++)); do
        if ((r % 2 == 1)); then order=(empty history); else order=(history empty); fi
        for kind in "${order[@]}"; do
            fresh_dest
            rm -rf -- "$work/src" "$work/state"
            cp -al -- "$cache/scalenew1000" "$work/src"
            if [[ "$kind" == history ]]; then cp -r -- "$history_db" "$work/state"; fi
            write_config "$work/state" true 10080
            # Write the copied 1.2 GB database back now: left dirty, the tool's first fsync would pay
            # for the copy (measured: 3.0 s instead of 0.7 s).
            sync
            timed "$work/r.hist.$kind" "set=history_1m ledger=$kind run=$r" "$dms" sync --once --config "$work/config.json"
            [[ "$(count_dest)" -eq 1000 ]] || die "history_1m ($kind): $(count_dest) files on the NAS, expected 1000"
        done
    done
    summarise result history_1m "$work/r.hist.history" peer "$work/r.hist.empty" 64
fi
if wants status_1m; then
    rm -f -- "$work"/r.status.* "$work"/r.verify.*
    rm -rf -- "$work/src" "$work/state"
    mkdir -p -- "$work/src"
    cp -r -- "$history_db" "$work/state"
    write_config "$work/state" true 10080
    sync
    fresh_dest
    for ((r = 1; r <= runs; r++)); do
        timed "$work/r.status.dms" "set=status_1m command=status run=$r" "$dms" status --config "$work/config.json"
        timed "$work/r.verify.dms" "set=status_1m command=verify run=$r" "$dms" verify --since 24h --config "$work/config.json"
    done
    summarise result status_1m "$work/r.status.dms" peer /nonexistent 64
    summarise result verify_1m "$work/r.verify.dms" peer /nonexistent 64
fi

# --- year_soak ---------------------------------------------------------------------------------------
if wants year_soak; then
    log "year_soak: $soak_cycles cycles of 200 new files each (sources deleted one cycle later) ..."
    tree "scalesoak$soak_cycles" $((soak_cycles * 200)) "$soak_cycles"
    fresh_dest
    rm -rf -- "$work/src" "$work/state" "$work"/r.soak.*
    mkdir -p -- "$work/src"
    write_config "$work/state" true 0
    for ((c = 0; c < soak_cycles; c++)); do
        # A flight lands: the next 200 files (their own folder) appear, then a cycle runs.
        cp -al -- "$cache/scalesoak$soak_cycles/$(printf 'dir_%03d' "$c")" "$work/src/"
        if ((c < 20)); then f="$work/r.soak.first"; elif ((c >= soak_cycles - 20)); then f="$work/r.soak.last"; else f="$work/r.soak.mid"; fi
        timed "$f" "set=year_soak cycle=$c" "$dms" sync --once --config "$work/config.json" >/dev/null
    done
    [[ "$(count_dest)" -eq $((soak_cycles * 200)) ]] || die "year_soak: $(count_dest) files on the NAS, expected $((soak_cycles * 200))"
    left=$(find "$work/src" -type f | wc -l)
    [[ "$left" -le 200 ]] || die "year_soak: $left sources left locally (only the last cycle's may wait)"
    summarise result year_soak "$work/r.soak.last" peer "$work/r.soak.first" 64
fi

log "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
