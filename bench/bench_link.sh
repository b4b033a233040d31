#!/usr/bin/env bash
# Benchmark on a field link: dji-media-sync against rsync to a NAS at the far end of an emulated
# 20 ms RTT, 100 Mbit/s link (a dock on 4G/5G or a long Wi-Fi hop), where round trips, not the
# CPU, set the cost of a cycle.
#
#   bench/bench_link.sh [--runs N] [--rtt-ms MS] [--mbit RATE] [--sets lsmall,lmedium,llarge]
#
# The link: a network namespace for the NAS (its sshd, scripts/test-sshd.sh), joined to this one
# by two TUN devices and bench/linkemu.py, which holds every packet for half the RTT and paces
# each direction to the rate (sch_netem is missing from some kernels, this one's included).
# The runs are bench/bench_nas.sh's, on its link sets:
#   lsmall  200 × 64 KiB    lmedium  50 × 4 MiB    llarge  1 × 256 MiB
# each ending with  RESULT set=<name> dms_median_s=<x> rsync_median_s=<y> ratio=<x/y> ...
# Target (issue 14): ratio ≤ 1.0 on each. Needs root (namespaces, TUN, the test sshd).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=3 rtt_ms=20 mbit=100 sets=lsmall,lmedium,llarge
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) runs=${2:?}; shift 2 ;;
        --rtt-ms) rtt_ms=${2:?}; shift 2 ;;
        --mbit) mbit=${2:?}; shift 2 ;;
        --sets) sets=${2:?}; shift 2 ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
        *) echo "bench_link: unknown argument: $1" >&2; exit 2 ;;
    esac
done
[[ "$(id -u)" -eq 0 ]] || { echo "bench_link: run as root (namespaces, TUN devices, the test sshd)" >&2; exit 1; }

readonly ns=dms-link-nas near=dmslink0 far=dmslink1 near_ip=10.77.0.1 far_ip=10.77.0.2
readonly work=/tmp/dms-link-work sshd_dir=/tmp/dms-link-sshd
emu_pid=
cleanup() {
    DMS_SSHD_NETNS=$ns DMS_SSHD_HOST=$far_ip "$repo/scripts/test-sshd.sh" stop "$sshd_dir" || true
    [[ -n "$emu_pid" ]] && kill "$emu_pid" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Leftovers of a run that was killed.
ip netns del "$ns" 2>/dev/null || true
rm -rf -- "$work" && mkdir -p -- "$work"
python3 "$repo/bench/linkemu.py" --near "$near" --far "$far" --delay-ms "$(awk -v r="$rtt_ms" 'BEGIN { print r / 2 }')" \
    --mbit "$mbit" --ready "$work/ready" &
emu_pid=$!
for _ in $(seq 100); do [[ -s "$work/ready" ]] && break; kill -0 "$emu_pid" || exit 1; sleep 0.05; done
[[ -s "$work/ready" ]] || { echo "bench_link: the link emulator did not start" >&2; exit 1; }
ip netns add "$ns"
ip link set "$far" netns "$ns"
ip addr add "$near_ip/30" dev "$near"
ip link set "$near" up
ip -n "$ns" addr add "$far_ip/30" dev "$far"
ip -n "$ns" link set "$far" up
ip -n "$ns" link set lo up

# The RTT as a TCP connect sees it (SYN, SYN-ACK), the median of 5.
ip netns exec "$ns" python3 -c 'import socket, sys, time
s = socket.socket(); s.bind((sys.argv[1], 7777)); s.listen(8)
for _ in range(5): s.accept()[0].close()' "$far_ip" &
listener=$!
rtt=$(python3 -c 'import socket, statistics, sys, time
samples = []
for _ in range(5):
    for attempt in range(100):
        try:
            t0 = time.monotonic(); c = socket.create_connection((sys.argv[1], 7777), timeout=2); samples.append(time.monotonic() - t0); c.close(); break
        except OSError: time.sleep(0.05)
print(f"{statistics.median(samples) * 1000:.1f}")' "$far_ip")
wait "$listener" || true
echo "link: $rtt_ms ms RTT asked, $rtt ms measured (TCP connect); $mbit Mbit/s each way (linkemu.py)" >&2

DMS_SSHD_NETNS=$ns DMS_SSHD_HOST=$far_ip DMS_BENCH_SSHD_DIR=$sshd_dir \
    "$repo/bench/bench_nas.sh" --runs "$runs" --sets "$sets"
