# Shared by the bench scripts (sourced): logging, the data sets, the per-run source copy, the
# machine's busy CPU and the summary lines. The caller sets $cache and $work.

log() { printf '%s\n' "$*" >&2; }
die() { log "bench: FAILED: $*"; exit 1; }

# generate_set NAME COUNT SIZE DAY EXT: fills $cache/NAME once with COUNT random files of SIZE bytes
# named DJI_<DAY>hhmmss_NNNN_D.<EXT>, an hour old; a set is complete only once it is marked so.
generate_set() {
    local name=$1 target="$cache/$1"
    if [[ -f "$target.complete" && -d "$target" ]]; then
        return 0
    fi
    log "generating $name into $target (once) ..."
    rm -rf -- "$target" "$target.partial" "$target.complete"
    mkdir -p -- "$target.partial"
    python3 - "$target.partial" "$2" "$3" "$4" "$5" <<'PY'
import datetime, os, sys, time
folder, count, size, day, ext = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
start = datetime.datetime.strptime(day + "080000", "%Y%m%d%H%M%S")
mtime = time.time() - 3600
chunk = 4 << 20
for i in range(count):
    stamp = (start + datetime.timedelta(seconds=7 * i)).strftime("%Y%m%d%H%M%S")
    path = os.path.join(folder, f"DJI_{stamp}_{i + 1:04d}_D.{ext}")
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(chunk, left)
            f.write(os.urandom(n))
            left -= n
    os.utime(path, (mtime, mtime))
PY
    mv -- "$target.partial" "$target"
    touch -- "$target.complete"
}

# fresh_source NAME: $work/src as a hard-linked copy of the set (cheap, and the cache survives
# whatever a tool does to sources), read once so both tools start from the same warm page cache.
fresh_source() {
    rm -rf -- "$work/src"
    mkdir -p -- "$work"
    cp -al -- "$cache/$1" "$work/src"
    find "$work/src" -type f -exec cat -- {} + >/dev/null
}

# summarise MODE(target|result) NAME DMS_RESULTS PEER PEER_RESULTS RSS_TARGET_MIB: from files of
# "SECONDS RSS_KIB" lines, the target verdicts or the RESULT line (NA for a tool not run).
summarise() {
    python3 - "$@" <<'PY'
import statistics, sys
mode, name, dms_file, peer, peer_file, rss_target = sys.argv[1:]
def load(path):
    try:
        with open(path) as f:
            return [tuple(float(x) for x in line.split()) for line in f if line.strip()]
    except FileNotFoundError:
        return []  # that tool was not run (--tools)
dms, other = load(dms_file), load(peer_file)
dms_median = statistics.median(s for s, _ in dms) if dms else None
peer_median = statistics.median(s for s, _ in other) if other else None
ratio = dms_median / peer_median if dms and other else None
peak_mib = max(k for _, k in dms) / 1024 if dms else None
fmt = lambda value, spec: "NA" if value is None else format(value, spec)
verdict = lambda ok: "NA" if ok is None else ("PASS" if ok else "MISS")
if mode == "target":
    print(f"target set={name} ratio={fmt(ratio, '.2f')} (<= 1.00) {verdict(None if ratio is None else round(ratio, 2) <= 1.0)}"
          f"  dms_peak_rss_mib={fmt(peak_mib, '.1f')} (<= {rss_target}) "
          f"{verdict(None if peak_mib is None else peak_mib <= float(rss_target))}")
else:
    print(f"RESULT set={name} dms_median_s={fmt(dms_median, '.3f')} {peer}_median_s={fmt(peer_median, '.3f')} "
          f"ratio={fmt(ratio, '.2f')} dms_peak_rss_mib={fmt(peak_mib, '.1f')}")
PY
}

# Busy CPU time of the whole machine, in clock ticks (user + nice + system + irq + softirq + steal):
# on loopback both ends of a transfer (the tool, ssh, sshd, the remote tar/rsync) are in it, which
# wall time on a shared 2-core machine hides; other work on the machine adds to it, so the load
# average is printed too.
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
ticks_per_second=$(getconf CLK_TCK)

# cpu_ratio LABEL SET FILE_A NAME_A FILE_B NAME_B UNIT: medians of CPU seconds per UNIT (files of
# one figure a line) and their ratio.
cpu_ratio() {
    python3 - "$@" <<'PY'
import statistics, sys
label, name, fa, na, fb, nb, unit = sys.argv[1:8]
def median(path):
    try:
        with open(path) as f:
            return statistics.median(float(x) for x in f if x.strip())
    except (FileNotFoundError, statistics.StatisticsError):
        return None
d, r = median(fa), median(fb)
fmt = lambda v: "NA" if v is None else f"{v:.3f}"
print(f"{label} set={name} {na}_cpu_s_per_{unit}={fmt(d)} {nb}_cpu_s_per_{unit}={fmt(r)} ratio={fmt(d / r if d and r else None)}")
PY
}
