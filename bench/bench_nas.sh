#!/usr/bin/env bash
# Benchmark: dji-media-sync's NAS destination against rsync over ssh, on loopback, with the
# private test sshd (scripts/test-sshd.sh) as the NAS.
#
#   bench/bench_nas.sh [--runs N] [--sets small,medium,large] [--cache DIR] [--scratch-path PATH]
#                      [--tools rsync,dms,dmsr]   (one tool only: its half alone; the other's fields are NA)
#   dmsr: dji-media-sync through dms-receive installed as its key's forced command (receiver
#   "installed"); with dms too, two more lines per set compare it with the inline receiver:
#     RECEIVER set=<name> installed_median_s=<x> dms_inline_median_s=<y> ratio=<x/y> ...
#     RECEIVER_CPU set=<name> installed_cpu_s_per_gib=<a> inline_cpu_s_per_gib=<b> ratio=<a/b>
#
# Data sets (generated once into the cache, random content, DJI-like names, mtimes an hour old):
#   small_2000x64KiB   2000 files of 64 KiB   DJI_20250101hhmmss_NNNN_D.JPG
#   medium_300x4MiB     300 files of 4 MiB    DJI_20250102hhmmss_NNNN_D.MP4
#   large_1x1GiB          1 file  of 1 GiB    DJI_20250103hhmmss_NNNN_D.MP4
#
# For each set and run the two tools alternate (which goes first flips every run), each into an
# emptied destination from a fresh hard-linked copy of the set, after reading the source once so
# both start from the same warm page cache (dropping caches is not allowed in every container).
# Only the tool's own process is timed (monotonic clock); preparing and checking is outside.
# Ends with two lines per set:
#   RESULT set=<name> dms_median_s=<x> rsync_median_s=<y> ratio=<x/y> dms_peak_rss_mib=<z>
#   CPU set=<name> dms_cpu_s_per_gib=<a> rsync_cpu_s_per_gib=<b> ratio=<a/b>
# (busy CPU seconds of the whole machine per GiB moved, medians: both ends of the loopback
# transfer, which a shared machine's wall time hides).
# dms_peak_rss_mib is the largest peak RSS of the dji-media-sync process over the runs, from
# /usr/bin/time %M. Its ssh children are separate processes whose memory is not added to it (%M is
# the peak of the single largest process of the tree it waited for: dji-media-sync, unless an ssh
# child ever outgrew it).
#
# Needs root (the test sshd creates the user dms-nas and runs as root). Environment:
#   DMS_BENCH_CACHE    data cache (default /var/tmp/dms-bench-cache)
#   DMS_SCRATCH_PATH   swift build scratch path (default .build)
#   DMS_BENCH_SSHD_DIR the test sshd's state folder (default /tmp/dms-bench-sshd); DMS_SSHD_NETNS and
#   DMS_SSHD_HOST put it in a network namespace (bench/bench_link.sh)
#   DMS_BENCH_LOG_DIR  if set, dji-media-sync runs with -vv and each run's log is kept there, as
#                      <set>.<tool>.<run>.log (where the time of a cycle goes; slower by its logging)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=3
sets_arg=small,medium,large
tools_arg=rsync,dms
cache=${DMS_BENCH_CACHE:-/var/tmp/dms-bench-cache}
scratch=${DMS_SCRATCH_PATH:-.build}
readonly sshd_dir=${DMS_BENCH_SSHD_DIR:-/tmp/dms-bench-sshd}
readonly work=/tmp/dms-bench-work
readonly dest=/tmp/dms-bench-nas/dest

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) runs=${2:?--runs needs a number}; shift 2 ;;
        --sets) sets_arg=${2:?--sets needs a list}; shift 2 ;;
        --tools) tools_arg=${2:?--tools needs a list}; shift 2 ;;
        --cache) cache=${2:?--cache needs a folder}; shift 2 ;;
        --scratch-path) scratch=${2:?--scratch-path needs a path}; shift 2 ;;
        -h | --help) usage ;;
        *) echo "bench: unknown argument: $1" >&2; usage ;;
    esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --runs must be a positive integer" >&2; exit 2; }

# The link sets are bench/bench_link.sh's (the sizes of a field link's bursts).
declare -A set_name=([small]=small_2000x64KiB [medium]=medium_300x4MiB [large]=large_1x1GiB
                     [lsmall]=link_200x64KiB [lmedium]=link_50x4MiB [llarge]=link_1x256MiB)
declare -A set_count=([small]=2000 [medium]=300 [large]=1 [lsmall]=200 [lmedium]=50 [llarge]=1)
declare -A set_size=([small]=65536 [medium]=4194304 [large]=1073741824 [lsmall]=65536 [lmedium]=4194304 [llarge]=268435456)
declare -A set_day=([small]=20250101 [medium]=20250102 [large]=20250103 [lsmall]=20250104 [lmedium]=20250105 [llarge]=20250106)
declare -A set_ext=([small]=JPG [medium]=MP4 [large]=MP4 [lsmall]=JPG [lmedium]=MP4 [llarge]=MP4)
IFS=, read -r -a sets <<<"$sets_arg"
for s in "${sets[@]}"; do
    [[ -n "${set_name[$s]:-}" ]] || { echo "bench: unknown set '$s' (small, medium, large; lsmall, lmedium, llarge)" >&2; exit 2; }
done
IFS=, read -r -a tools <<<"$tools_arg"
for t in "${tools[@]}"; do
    [[ "$t" == rsync || "$t" == dms || "$t" == dmsr ]] || { echo "bench: unknown tool '$t' (rsync, dms, dmsr)" >&2; exit 2; }
done
uses_dms() { [[ ",$tools_arg," == *,dms,* || ",$tools_arg," == *,dmsr,* ]]; }
uses_receiver() { [[ ",$tools_arg," == *,dmsr,* ]]; }

# shellcheck source=bench/common.sh
source "$repo/bench/common.sh"

[[ "$(id -u)" -eq 0 ]] || die "run as root (the test sshd needs it)"
"$repo/scripts/install-deps.sh" >&2

# --- the NAS: a private sshd on loopback, stopped however the script ends ---------------------------
cleanup() {
    "$repo/scripts/test-sshd.sh" stop "$sshd_dir" || true
    rm -rf -- "$work" "$dest"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
sshd_env=$("$repo/scripts/test-sshd.sh" start "$sshd_dir")
eval "$sshd_env"
ssh_opts="-F none -p $DMS_SSH_PORT -i $DMS_SSH_KEY -o IdentitiesOnly=yes -o UserKnownHostsFile=$DMS_SSH_KNOWN_HOSTS"
ssh_opts+=" -o StrictHostKeyChecking=yes -o BatchMode=yes"
# The same cipher preference for both tools (the bench config names it for dji-media-sync too).
readonly ciphers=aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-gcm@openssh.com
ssh_opts+=" -o Ciphers=$ciphers"
log "NAS: $DMS_SSH_USER@$DMS_SSH_HOST:$DMS_SSH_PORT (sshd pid $DMS_SSHD_PID)"

# --- data, generated once ----------------------------------------------------------------------------
mkdir -p -- "$cache"
for s in "${sets[@]}"; do generate_set "${set_name[$s]}" "${set_count[$s]}" "${set_size[$s]}" "${set_day[$s]}" "${set_ext[$s]}"; done

# --- the tool, built once -----------------------------------------------------------------------------
dms=
if uses_dms; then
    log "building dji-media-sync (release, scratch path $scratch) ..."
    # The build the .deb ships: Swift's runtime linked in (it starts in half the time).
    (cd "$repo" && swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product dji-media-sync >&2)
    dms="$(cd "$repo" && swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)/dji-media-sync"
    [[ -x "$dms" ]] || die "no binary at $dms"
fi

# --- dmsr: dji-media-sync through dms-receive installed as the forced command of its own key ------------
rx_key=
if uses_receiver; then
    rx_dir=/tmp/dms-bench-nas/receiver
    rm -rf -- "$rx_dir"
    install -d -m 0755 "$rx_dir"
    "$dms" nas-receiver >"$rx_dir/dms-receive"
    chmod 0755 "$rx_dir/dms-receive"
    rx_key="$rx_dir/key"
    ssh-keygen -q -t ed25519 -N '' -C dms-bench-receiver -f "$rx_key"
    [[ -f "$sshd_dir/authorized_keys_forced" ]] \
        || die "the bench sshd has no authorized_keys_forced (started by an older scripts/test-sshd.sh?): stop it: scripts/test-sshd.sh stop $sshd_dir"
    printf 'command="/bin/sh %s --base %s",restrict %s\n' "$rx_dir/dms-receive" "$dest" "$(cat "$rx_key.pub")" \
        >>"$sshd_dir/authorized_keys_forced"
fi

# --- one run of one tool -------------------------------------------------------------------------------
# Runs a command and writes its wall time, from the monotonic clock, to the file named first.
timer_py='import subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()
rc = subprocess.call(cmd)
elapsed = time.monotonic() - t0
with open(out, "w") as f:
    f.write(f"{elapsed:.6f}\n")
sys.exit(rc)'

fresh_dest() {
    rm -rf -- "$dest"
    install -d -m 0755 -o "$DMS_SSH_USER" -g "$DMS_SSH_USER" "$dest"
}

write_config() { # write_config [installed]: the receiver mode (default inline)
    local key=$DMS_SSH_KEY receiver=inline
    if [[ "${1:-}" == installed ]]; then key=$rx_key; receiver=installed; fi
    rm -rf -- "$work/state" "$work/run"
    mkdir -p -- "$work/state" "$work/run"
    cat >"$work/config.json" <<JSON
{
  "local": { "media_roots": ["$work/src"], "min_file_age_seconds": 0 },
  "destinations": [ { "type": "nas", "name": "nas", "host": "$DMS_SSH_HOST", "port": $DMS_SSH_PORT,
      "user": "$DMS_SSH_USER", "identity_file": "$key", "known_hosts_file": "$DMS_SSH_KNOWN_HOSTS",
      "base_path": "$dest", "ciphers": "$ciphers", "receiver": "$receiver" } ],
  "delete_policy": { "delete_sources": false, "delay_minutes": 10080 },
  "concurrency_control": { "lock_file": "$work/run/sync.lock" },
  "state": { "directory": "$work/state", "runtime_directory": "$work/run" }
}
JSON
}

check_dest() { # check_dest TOOL EXPECTED_COUNT EXPECTED_BYTES LAYOUT(dated|flat)
    local tool=$1 want=$2 bytes=$3 layout=$4 total placed temps size pattern
    total=$(find "$dest" -type f | wc -l)
    if [[ "$layout" == dated ]]; then
        pattern="$dest/[0-9]{4}/[0-9]{2}/[0-9]{2}/[^/]+"
    else
        pattern="$dest/[^/]+"
    fi
    placed=$(find "$dest" -regextype posix-extended -type f -regex "$pattern" | wc -l)
    temps=$(find "$dest" -name '.dms-*' | wc -l)
    size=$(find "$dest" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s }')
    [[ "$placed" -eq "$want" ]] || die "$tool: $placed files in the expected layout under $dest, expected $want"
    [[ "$temps" -eq 0 ]] || die "$tool: $temps temporary .dms-* entries left under $dest"
    [[ "$size" -eq "$bytes" ]] || die "$tool: $size bytes under $dest, expected $bytes"
    [[ "$total" -eq "$want" ]] || log "bench: note: $tool left $((total - want)) other files under $dest"
}

run_tool() { # run_tool TOOL SET_KEY RUN_NUMBER -> appends "SECONDS RSS_KIB" to the results file
    local tool=$1 key=$2 run=$3 name=${set_name[$2]} rc seconds rss busy_before busy_after cpu
    local want=${set_count[$2]} bytes=$((set_count[$2] * set_size[$2]))
    fresh_dest
    fresh_source "$name"
    rc=0
    busy_before=$(busy_ticks)
    # The timer (python) runs /usr/bin/time, which runs the tool: %M is then the tool's own peak.
    if [[ "$tool" == rsync ]]; then
        python3 -c "$timer_py" "$work/seconds" \
            /usr/bin/time -f %M -o "$work/rss" \
            rsync -a -e "ssh $ssh_opts" "$work/src/" "$DMS_SSH_USER@$DMS_SSH_HOST:$dest/" || rc=$?
        [[ "$rc" -eq 0 ]] || die "rsync exited with $rc"
        busy_after=$(busy_ticks)
        check_dest rsync "$want" "$bytes" flat
    else
        if [[ "$tool" == dmsr ]]; then write_config installed; else write_config; fi
        python3 -c "$timer_py" "$work/seconds" \
            /usr/bin/time -f %M -o "$work/rss" \
            "$dms" sync --once ${DMS_BENCH_LOG_DIR:+-vv} --config "$work/config.json" >"$work/dms.out" 2>&1 || rc=$?
        busy_after=$(busy_ticks)
        if [[ "$rc" -ne 0 ]]; then
            cat "$work/dms.out" >&2
            die "dji-media-sync exited with $rc"
        fi
        check_dest dji-media-sync "$want" "$bytes" dated
        if [[ -n "${DMS_BENCH_LOG_DIR:-}" ]]; then mkdir -p -- "$DMS_BENCH_LOG_DIR" && cp -- "$work/dms.out" "$DMS_BENCH_LOG_DIR/$name.$tool.$run.log"; fi
    fi
    seconds=$(<"$work/seconds")
    rss=$(tail -n 1 "$work/rss")
    cpu=$(awk -v t=$((busy_after - busy_before)) -v hz="$ticks_per_second" -v b="$bytes" 'BEGIN { printf "%.2f", t / hz / (b / 1073741824) }')
    printf 'run set=%s tool=%s run=%d seconds=%.3f peak_rss_mib=%.1f machine_cpu_s_per_gib=%s\n' \
        "$name" "$tool" "$run" "$seconds" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$cpu"
    echo "$seconds $rss" >>"$work/results.$key.$tool"
    echo "$cpu" >>"$work/cpu.$key.$tool"
}

# --- the runs --------------------------------------------------------------------------------------------
# Other work on the machine skews wall times: say how busy it was (1/5/15-minute load averages).
log "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
mkdir -p -- "$work"
for s in "${sets[@]}"; do
    rm -f -- "$work/results.$s".* "$work/cpu.$s".*
    for ((r = 1; r <= runs; r++)); do
        if ((r % 2 == 1)); then order=(rsync dms dmsr); else order=(dmsr dms rsync); fi
        for tool in "${order[@]}"; do
            if [[ ",$tools_arg," == *,"$tool",* ]]; then run_tool "$tool" "$s" "$r"; fi
        done
    done
done

log "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in "${sets[@]}"; do
    summarise result "${set_name[$s]}" "$work/results.$s.dms" rsync "$work/results.$s.rsync" 64
    # CPU seconds per GiB of the whole machine (both ends), medians: noise moves it less than wall time.
    cpu_ratio CPU "${set_name[$s]}" "$work/cpu.$s.dms" dms "$work/cpu.$s.rsync" rsync gib
    if uses_receiver; then
        # Through the installed receiver (restricted key) against the inline one (unrestricted).
        summarise result "${set_name[$s]}" "$work/results.$s.dmsr" dms_inline "$work/results.$s.dms" 64 | sed 's/^RESULT/RECEIVER/; s/dms_median_s/installed_median_s/'
        cpu_ratio RECEIVER_CPU "${set_name[$s]}" "$work/cpu.$s.dmsr" installed "$work/cpu.$s.dms" inline gib
    fi
done
