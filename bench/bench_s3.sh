#!/usr/bin/env bash
# Benchmark: dji-media-sync's S3 destination against the AWS CLI (v1, `aws s3 cp --recursive`),
# both uploading to the same private SeaweedFS S3 server on loopback (scripts/test-s3.sh).
#
#   bench/bench_s3.sh [--runs N] [--sets 1gib,300x4mib] [--cache DIR] [--scratch-path PATH]
#                     [--binary PATH]   (a prebuilt dji-media-sync: no build)
#                     [--tools aws,dms] (one tool only: its half alone; the other's fields are NA)
#
# Data sets (generated once into the cache, random content, DJI-like names, mtimes an hour old; the
# same folders and generator as bench/bench_nas.sh, so the two benchmarks share them):
#   1gib       1 file  of 1 GiB    large_1x1GiB/DJI_20250103hhmmss_NNNN_D.MP4
#   300x4mib 300 files of 4 MiB    medium_300x4MiB/DJI_20250102hhmmss_NNNN_D.MP4
#
# One SeaweedFS per invocation, in a fresh state folder, stopped however the script ends. Every run
# uploads into a bucket of its own under a fresh prefix; the bucket is checked (object count, total
# size, names, no multipart upload left) and then deleted, which drops its SeaweedFS collection at
# once (test-s3.sh's server holds at most 100 volumes of 64 MB: a shared bucket would fill it).
# For each set and run the two tools alternate (which goes first flips every run), each from a fresh
# hard-linked copy of the set, after reading the source once so both start from the same warm page
# cache (dropping caches is not allowed in every container). Only the tool's own process is timed
# (monotonic clock); creating the bucket, checking and deleting it is outside.
#
# Both sides run with their defaults:
#   aws: max_concurrent_requests 10, multipart_threshold 8 MiB, multipart_chunksize 8 MiB (an empty
#        AWS_CONFIG_FILE: no ~/.aws/config can change them); over http it signs each request's
#        payload SHA-256 and sends a CRC32 of each part or object (botocore's default checksum).
#   dms: parallel_transfers 2, multipart_threshold_mib 16, part_size_mib 5, parallel_parts 4; it
#        hashes each whole file (SHA-256, declared as the object's checksum) and signs each part's
#        SHA-256.
#
# Per run: a `run` line (wall seconds, the tool's peak RSS and CPU from /usr/bin/time, SeaweedFS's
# CPU seconds from /proc). Then one `target` line per set (PASS/MISS: ratio <= 1.0, dms peak RSS
# <= 64 MiB), and at the end exactly one line per set:
#   RESULT set=<name> dms_median_s=<x> aws_median_s=<y> ratio=<x/y> dms_peak_rss_mib=<z>
# dms_peak_rss_mib is the largest peak RSS of the dji-media-sync process over the runs (%M).
# The exit status is 0 when every run uploaded everything, whether or not the targets were met.
#
# Environment:
#   DMS_BENCH_CACHE    data cache (default /var/tmp/dms-bench-cache)
#   DMS_SCRATCH_PATH   swift build scratch path (default .build)
#   DMS_BENCH_BINARY   a prebuilt dji-media-sync (as --binary)
#   For experiments only (the benchmark's numbers are with the defaults): JSON members added to
#   dji-media-sync's config, announced in a `note:` line, e.g.
#   DMS_BENCH_S3_EXTRA='"part_size_mib": 8, "parallel_parts": 8'   (into the s3 destination)
#   DMS_BENCH_CONCURRENCY_EXTRA='"parallel_transfers": 4'          (into concurrency_control)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=3
sets_arg=1gib,300x4mib
tools_arg=aws,dms
cache=${DMS_BENCH_CACHE:-/var/tmp/dms-bench-cache}
scratch=${DMS_SCRATCH_PATH:-.build}
binary=${DMS_BENCH_BINARY:-}
s3_extra=${DMS_BENCH_S3_EXTRA:-}
concurrency_extra=${DMS_BENCH_CONCURRENCY_EXTRA:-}
readonly AWSCLI_VERSION=1.45.11 # installed with pip here, not by scripts/install-deps.sh (CI needs no AWS CLI)
readonly RSS_TARGET_MIB=64

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
        --binary) binary=${2:?--binary needs a path}; shift 2 ;;
        -h | --help) usage ;;
        *) echo "bench: unknown argument: $1" >&2; usage ;;
    esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --runs must be a positive integer" >&2; exit 2; }

# The cache folder names and generator parameters are bench_nas.sh's (shared data).
declare -A set_dir=([1gib]=large_1x1GiB [300x4mib]=medium_300x4MiB)
declare -A set_count=([1gib]=1 [300x4mib]=300)
declare -A set_size=([1gib]=1073741824 [300x4mib]=4194304)
declare -A set_day=([1gib]=20250103 [300x4mib]=20250102)
declare -A set_ext=([1gib]=MP4 [300x4mib]=MP4)
IFS=, read -r -a sets <<<"$sets_arg"
for s in "${sets[@]}"; do
    [[ -n "${set_dir[$s]:-}" ]] || { echo "bench: unknown set '$s' (1gib, 300x4mib)" >&2; exit 2; }
done
IFS=, read -r -a tools <<<"$tools_arg"
for t in "${tools[@]}"; do
    [[ "$t" == aws || "$t" == dms ]] || { echo "bench: unknown tool '$t' (aws, dms)" >&2; exit 2; }
done
uses() { [[ ",$tools_arg," == *,"$1",* ]]; }

# shellcheck source=bench/common.sh
source "$repo/bench/common.sh"

"$repo/scripts/install-deps.sh" >&2
[[ -x /usr/bin/time ]] || die "/usr/bin/time missing (Debian package 'time'; scripts/install-deps.sh installs it)"

# --- the AWS CLI, pinned, from PyPI -------------------------------------------------------------------
# Run from python3's scripts folder, not through a pyenv shim (a shell wrapper would add its start-up
# to every aws run).
aws_installed() { python3 -c 'import awscli; print(awscli.__version__)' 2>/dev/null || true; }
# Needed with --tools dms too: the buckets are created, checked and deleted with it.
if [[ "$(aws_installed)" != "$AWSCLI_VERSION" ]]; then
    log "installing awscli==$AWSCLI_VERSION (PyPI) ..."
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
        "awscli==$AWSCLI_VERSION" >&2 || die "pip install awscli==$AWSCLI_VERSION failed"
fi
aws_bin=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/aws
[[ -x "$aws_bin" ]] || die "no aws at $aws_bin after pip install awscli==$AWSCLI_VERSION"

# --- work folder and the S3 server, removed/stopped however the script ends --------------------------
work=$(mktemp -d /tmp/dms-bench-s3.XXXXXX)
s3_dir="$work/seaweedfs"
cleanup() {
    "$repo/scripts/test-s3.sh" stop "$s3_dir" || true
    rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
s3_env=$("$repo/scripts/test-s3.sh" start "$s3_dir")
eval "$s3_env"
log "S3: SeaweedFS at $DMS_S3_ENDPOINT (pid $DMS_S3_PID, $("/proc/$DMS_S3_PID/exe" version 2>/dev/null | head -n 1))"

# Both tools take these credentials from the environment; nothing else of the user's AWS setup.
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 \
    AWS_MAX_ATTEMPTS AWS_RETRY_MODE AWS_REQUEST_CHECKSUM_CALCULATION AWS_RESPONSE_CHECKSUM_VALIDATION
export AWS_ACCESS_KEY_ID=$DMS_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$DMS_S3_SECRET_KEY
export AWS_DEFAULT_REGION=$DMS_S3_REGION AWS_REGION=$DMS_S3_REGION
: >"$work/aws-config"
: >"$work/aws-credentials"
export AWS_CONFIG_FILE="$work/aws-config" AWS_SHARED_CREDENTIALS_FILE="$work/aws-credentials"
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
aws_cmd() { "$aws_bin" --endpoint-url "$DMS_S3_ENDPOINT" "$@"; }

# --- data, generated once (bench/common.sh) -------------------------------------------------------------
mkdir -p -- "$cache"
for s in "${sets[@]}"; do generate_set "${set_dir[$s]}" "${set_count[$s]}" "${set_size[$s]}" "${set_day[$s]}" "${set_ext[$s]}"; done

# --- dji-media-sync, built once -------------------------------------------------------------------------
dms=
if uses dms; then
    if [[ -n "$binary" ]]; then
        dms=$binary
    else
        log "building dji-media-sync (release, scratch path $scratch) ..."
        # The build the .deb ships: Swift's runtime linked in.
        (cd "$repo" && swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product dji-media-sync >&2)
        dms="$(cd "$repo" && swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)/dji-media-sync"
    fi
    [[ -x "$dms" ]] || die "no binary at $dms"
fi

# --- one run of one tool ---------------------------------------------------------------------------------
# Runs a command and writes its wall time, from the monotonic clock, to the file named first.
timer_py='import subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()
rc = subprocess.call(cmd)
elapsed = time.monotonic() - t0
with open(out, "w") as f:
    f.write(f"{elapsed:.6f}\n")
sys.exit(rc)'

# CPU seconds (user + system) the S3 server has used so far: its share of a run is the difference.
server_cpu_s() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$DMS_S3_PID/stat"
}

write_config() { # write_config BUCKET PREFIX: one s3 destination, documented defaults otherwise
    rm -rf -- "$work/state" "$work/run"
    mkdir -p -- "$work/state" "$work/run"
    cat >"$work/config.json" <<JSON
{
  "local": { "media_roots": ["$work/src"], "min_file_age_seconds": 0 },
  "destinations": [ { "type": "s3", "name": "bench", "provider": "minio",
      "endpoint": "$DMS_S3_ENDPOINT", "region": "$DMS_S3_REGION", "bucket": "$1", "prefix": "$2"${s3_extra:+, $s3_extra} } ],
  "delete_policy": { "delete_sources": false },
  "concurrency_control": { "lock_file": "$work/run/sync.lock"${concurrency_extra:+, $concurrency_extra} },
  "state": { "directory": "$work/state", "runtime_directory": "$work/run" },
  "logging": { "level": "warning" }
}
JSON
}

# check_bucket TOOL BUCKET PREFIX KEY LAYOUT(dated|flat): every file of the set is there, once, in
# the tool's layout, with its size; no multipart upload is left open.
check_bucket() {
    local tool=$1 bucket=$2 prefix=$3 key=$4 layout=$5
    aws_cmd s3api list-objects-v2 --bucket "$bucket" --prefix "$prefix" --output json >"$work/listing.json" ||
        die "$tool: cannot list s3://$bucket/$prefix"
    aws_cmd s3api list-multipart-uploads --bucket "$bucket" --output json >"$work/uploads.json" ||
        die "$tool: cannot list the multipart uploads of s3://$bucket"
    python3 - "$tool" "$work/src" "$prefix" "$layout" "$work/listing.json" "$work/uploads.json" <<'PY' ||
import json, os, re, sys
tool, src, prefix, layout, listing, uploads = sys.argv[1:]
want = {name: os.stat(os.path.join(src, name)).st_size for name in os.listdir(src)}
objects = json.load(open(listing)).get("Contents", []) if os.path.getsize(listing) else []
pattern = re.compile(re.escape(prefix) + (r"\d{4}/\d{2}/\d{2}/([^/]+)$" if layout == "dated" else r"([^/]+)$"))
got, problems = {}, []
for o in objects:
    m = pattern.match(o["Key"])
    if not m:
        problems.append(f"unexpected key {o['Key']}")
        continue
    if m.group(1) in got:
        problems.append(f"{m.group(1)} twice")
    got[m.group(1)] = o["Size"]
for name, size in want.items():
    if name not in got:
        problems.append(f"missing {name}")
    elif got[name] != size:
        problems.append(f"{name}: {got[name]} bytes, expected {size}")
open_uploads = json.load(open(uploads)).get("Uploads", []) if os.path.getsize(uploads) else []
if open_uploads:
    problems.append(f"{len(open_uploads)} multipart uploads left open")
total = sum(got.values())
if problems:
    print(f"bench: FAILED: {tool}: " + "; ".join(problems[:5]) + (" ..." if len(problems) > 5 else ""), file=sys.stderr)
    sys.exit(1)
print(f"bench: {tool}: {len(got)} objects, {total} bytes under {prefix}: complete", file=sys.stderr)
PY
        exit 1
}

run_tool() { # run_tool TOOL SET_KEY RUN_NUMBER -> appends "SECONDS RSS_KIB" to the results file
    local tool=$1 key=$2 run=$3 rc seconds rss user sys cpu0 cpu1
    local bucket="dms-bench-$key-$tool-$run" prefix="bench-$tool-$run/"
    fresh_source "${set_dir[$key]}"
    aws_cmd s3api create-bucket --bucket "$bucket" >/dev/null || die "cannot create bucket $bucket"
    rc=0
    cpu0=$(server_cpu_s)
    # The timer (python) runs /usr/bin/time, which runs the tool: %M is then the tool's own peak.
    if [[ "$tool" == aws ]]; then
        python3 -c "$timer_py" "$work/seconds" \
            /usr/bin/time -f '%M %U %S' -o "$work/rusage" \
            "$aws_bin" --endpoint-url "$DMS_S3_ENDPOINT" s3 cp --recursive --only-show-errors \
            "$work/src/" "s3://$bucket/$prefix" >"$work/tool.out" 2>&1 || rc=$?
    else
        write_config "$bucket" "$prefix"
        python3 -c "$timer_py" "$work/seconds" \
            /usr/bin/time -f '%M %U %S' -o "$work/rusage" \
            "$dms" sync --once --config "$work/config.json" >"$work/tool.out" 2>&1 || rc=$?
    fi
    cpu1=$(server_cpu_s)
    if [[ "$rc" -ne 0 ]]; then
        tail -n 40 "$work/tool.out" >&2
        die "$tool exited with $rc (set $key, run $run)"
    fi
    # Warnings, retries: worth seeing next to a slow run (not dji-media-sync's cycle summary).
    if grep -v -E '^(cycle [0-9]+: |  [a-z ]+: )' "$work/tool.out" >"$work/tool.said"; then
        log "bench: $tool said ($(wc -l <"$work/tool.said") lines, the first 5):"
        head -n 5 "$work/tool.said" | cut -c1-300 >&2
    fi
    if [[ "$tool" == aws ]]; then
        check_bucket aws "$bucket" "$prefix" "$key" flat
    else
        check_bucket dji-media-sync "$bucket" "$prefix" "$key" dated
    fi
    aws_cmd s3 rb --force "s3://$bucket" >/dev/null || die "cannot delete bucket $bucket"
    seconds=$(<"$work/seconds")
    read -r rss user sys < <(tail -n 1 "$work/rusage")
    printf 'run set=%s tool=%s run=%d seconds=%.3f peak_rss_mib=%.1f cpu_user_s=%.2f cpu_sys_s=%.2f server_cpu_s=%.2f\n' \
        "$key" "$tool" "$run" "$seconds" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$user" "$sys" \
        "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { print b - a }')"
    echo "$seconds $rss" >>"$work/results.$key.$tool"
}

# --- the runs --------------------------------------------------------------------------------------------
echo "note: $("$aws_bin" --version 2>&1)"
echo "note: aws s3 cp defaults: max_concurrent_requests 10, multipart_threshold 8 MiB, multipart_chunksize 8 MiB"
echo "note: dms defaults: parallel_transfers 2, multipart_threshold_mib 16, part_size_mib 5, parallel_parts 4"
echo "note: they verify differently: aws signs each request's payload SHA-256 (http) and sends a CRC32 per part/object;"
echo "note: dms hashes each whole file (SHA-256, the object's declared checksum) and signs each part's SHA-256"
# Other work on the machine skews wall times: say how busy it was (1/5/15-minute load averages).
if [[ -n "$s3_extra$concurrency_extra" ]]; then
    echo "note: NOT the defaults: dms s3 destination + {$s3_extra}, concurrency_control + {$concurrency_extra}"
fi
echo "note: load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
for s in "${sets[@]}"; do
    rm -f -- "$work/results.$s.aws" "$work/results.$s.dms"
    for ((r = 1; r <= runs; r++)); do
        if ((r % 2 == 1)); then order=(aws dms); else order=(dms aws); fi
        for tool in "${order[@]}"; do
            if uses "$tool"; then run_tool "$tool" "$s" "$r"; fi
        done
    done
done
echo "note: load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"

for s in "${sets[@]}"; do summarise target "$s" "$work/results.$s.dms" aws "$work/results.$s.aws" "$RSS_TARGET_MIB"; done
for s in "${sets[@]}"; do summarise result "$s" "$work/results.$s.dms" aws "$work/results.$s.aws" "$RSS_TARGET_MIB"; done
