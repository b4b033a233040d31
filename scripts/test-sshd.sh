#!/usr/bin/env bash
# A private OpenSSH sshd on 127.0.0.1 that plays the NAS for tests, the demo and the benchmark.
#
#   scripts/test-sshd.sh start DIR   start (or reuse) the sshd whose state lives in DIR; prints env lines
#   scripts/test-sshd.sh stop DIR    stop it (TERM, then KILL after a bound); also drops its open sessions
#   scripts/test-sshd.sh env DIR     print the env lines of the running sshd in DIR
#   scripts/test-sshd.sh reap        stop the sshds under /tmp/*/ whose owner process has ended
#
# With DMS_SSHD_OWNER_PID set, `start` records that pid as the server's owner (DIR/owner.pid): the
# test harness does so for a test's private server, so that one left behind by a test process that
# crashed before stopping it is stopped by the next `reap` (scripts/test.sh and the harness run it).
#
# The env lines are shell-sourceable:
#   DMS_SSH_HOST=127.0.0.1 DMS_SSH_PORT=… DMS_SSH_USER=dms-nas DMS_SSH_KEY=… DMS_SSH_KNOWN_HOSTS=… DMS_SSHD_PID=…
#
# The remote user is a dedicated system user `dms-nas` whose login shell is /bin/sh (dash), so no
# shell rc file runs on each remote command (root's ~/.bashrc here costs ~70 ms per command).
# Needs root: it creates that user and runs sshd, which must switch to it.
set -euo pipefail

readonly SSHD=/usr/sbin/sshd            # sshd re-executes itself, so it must get its absolute path
readonly NAS_USER=dms-nas
readonly NAS_HOME=/var/lib/dms-nas
readonly START_DEADLINE_S=15           # from spawning sshd to the first working login
readonly STOP_DEADLINE_S=5             # from SIGTERM to SIGKILL
# bench/bench_link.sh puts the NAS at the far end of an emulated link: sshd listens on
# DMS_SSHD_HOST inside the network namespace DMS_SSHD_NETNS (both unset: 127.0.0.1, this one).
readonly HOST=${DMS_SSHD_HOST:-127.0.0.1}
readonly NETNS=${DMS_SSHD_NETNS:-}
in_netns() { if [[ -n "$NETNS" ]]; then ip netns exec "$NETNS" "$@"; else "$@"; fi; }

die() { echo "test-sshd: $*" >&2; exit 1; }

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
    # One spelling per directory: the pid check matches sshd's command line against this path.
    dir=$(realpath -m -- "$2")
fi

config="$dir/sshd_config"
pidfile="$dir/sshd.pid"
logfile="$dir/sshd.log"
host_key="$dir/host_ed25519_key"
client_key="$dir/client_key"
auth_keys="$dir/authorized_keys"
forced_keys="$dir/authorized_keys_forced"   # tests append forced-command keys (dms-receive) here
known_hosts="$dir/known_hosts"

# The pid in DIR/sshd.pid, if that process is alive and really is our sshd (not a recycled pid).
live_pid() {
    local pid exe
    [[ -s "$pidfile" ]] || return 1
    pid=$(<"$pidfile")
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
    [[ "$exe" == "$SSHD" ]] || return 1
    # Its command line names our config file (another sshd could have been given the pid). sshd
    # rewrites its title to "sshd: /usr/sbin/sshd -f CONFIG ... [listener] ...", so match a substring.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-f $config " || return 1
    echo "$pid"
}

configured_port() {
    [[ -f "$config" ]] || return 1
    sed -n 's/^ListenAddress [0-9.]*:\([0-9][0-9]*\)$/\1/p' "$config"
}

# One real login, the same way the clients (dji-media-sync, rsync) log in.
try_login() {
    local port=$1
    ssh -F none -p "$port" -i "$client_key" \
        -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes \
        -o UserKnownHostsFile="$known_hosts" -o ConnectTimeout=2 -o LogLevel=ERROR \
        "$NAS_USER@$HOST" true </dev/null >/dev/null 2>&1
}

print_env() {
    local port=$1 pid=$2
    printf 'DMS_SSH_HOST=%s\n' "$HOST"
    printf 'DMS_SSH_PORT=%s\n' "$port"
    printf 'DMS_SSH_USER=%s\n' "$NAS_USER"
    printf 'DMS_SSH_KEY=%s\n' "$client_key"
    printf 'DMS_SSH_KNOWN_HOSTS=%s\n' "$known_hosts"
    printf 'DMS_SSHD_PID=%s\n' "$pid"
}

require_root() {
    [[ "$(id -u)" -eq 0 ]] || die "must run as root (it creates the user $NAS_USER and runs $SSHD)"
    [[ -x "$SSHD" ]] || die "$SSHD not found: install openssh-server (run scripts/install-deps.sh as root)"
    command -v ssh >/dev/null || die "ssh not found: install openssh-client (run scripts/install-deps.sh as root)"
    command -v python3 >/dev/null || die "python3 not found (run scripts/install-deps.sh as root)"
}

ensure_user() {
    if ! getent passwd "$NAS_USER" >/dev/null; then
        useradd --system --user-group --shell /bin/sh --home-dir "$NAS_HOME" --create-home \
            --comment "dji-media-sync test NAS" "$NAS_USER" \
            || getent passwd "$NAS_USER" >/dev/null \
            || die "could not create user $NAS_USER"
    fi
    local shell home
    shell=$(getent passwd "$NAS_USER" | cut -d: -f7)
    home=$(getent passwd "$NAS_USER" | cut -d: -f6)
    [[ "$shell" == /bin/sh ]] || usermod --shell /bin/sh "$NAS_USER"
    # useradd leaves the password "!" (locked); without PAM, sshd refuses locked accounts even for
    # public keys. "*" means "no password can match" without locking the account.
    if [[ "$(getent shadow "$NAS_USER" | cut -d: -f2)" == '!'* ]]; then
        usermod --password '*' "$NAS_USER"
    fi
    if [[ ! -d "$home" ]]; then
        install -d -m 0755 -o "$NAS_USER" -g "$NAS_USER" "$home"
    fi
}

write_keys_and_config() {
    local port=$1
    install -d -m 0755 -o root -g root "$dir"
    local key
    for key in "$host_key" "$client_key"; do
        if [[ ! -s "$key" || ! -s "$key.pub" ]]; then
            rm -f -- "$key" "$key.pub"
            ssh-keygen -q -t ed25519 -N '' -C "dms-test-sshd $(basename "$key")" -f "$key"
        fi
    done
    chown root:root "$host_key" "$client_key"
    chmod 0600 "$host_key" "$client_key"
    chmod 0644 "$host_key.pub" "$client_key.pub"

    # sshd reads the authorized keys as the user: DIR must be traversable and the file readable by it.
    install -m 0644 -o root -g root "$client_key.pub" "$auth_keys"
    [[ -f "$forced_keys" ]] || install -m 0644 -o root -g root /dev/null "$forced_keys"
    printf '[%s]:%s %s\n' "$HOST" "$port" "$(cut -d' ' -f1,2 "$host_key.pub")" >"$known_hosts.tmp"
    chmod 0644 "$known_hosts.tmp"
    mv -f "$known_hosts.tmp" "$known_hosts"

    cat >"$config.tmp" <<CONFIG
# Generated by scripts/test-sshd.sh: a private sshd on loopback for dji-media-sync's tests.
ListenAddress $HOST:$port
HostKey $host_key
PidFile $pidfile
AuthorizedKeysFile $auth_keys $forced_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers $NAS_USER
PermitUserRC no
PermitUserEnvironment no
PrintMotd no
PrintLastLog no
UseDNS no
X11Forwarding no
MaxSessions 64
MaxStartups 64:30:128
LogLevel ERROR
Subsystem sftp internal-sftp
CONFIG
    chmod 0644 "$config.tmp"
    mv -f "$config.tmp" "$config"

    if ! runuser -u "$NAS_USER" -- test -r "$auth_keys"; then
        die "user $NAS_USER cannot read $auth_keys: put DIR where every user can traverse (e.g. under /tmp)"
    fi
}

free_port() {
    in_netns python3 -c 'import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 0))
print(s.getsockname()[1])' "$HOST"
}

now_s() { date +%s.%N; }
elapsed_ge() { # elapsed_ge START SECONDS: has SECONDS passed since START?
    awk -v a="$1" -v b="$(now_s)" -v d="$2" 'BEGIN { exit !(b - a >= d) }'
}

# Alive and not a zombie (PID 1 here reaps orphans lazily, and a zombie still passes kill -0).
alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n "$state" && "$state" != Z ]]
}

# Kill the listener and the per-connection sshd processes it forked (a NAS that goes away drops its
# connections too; otherwise a client's ControlMaster would keep working against a "stopped" NAS).
stop_pid() {
    local pid=$1 t0 children
    children=$(pgrep -P "$pid" 2>/dev/null || true)
    # shellcheck disable=SC2086  # $children is a list of pids
    kill -TERM "$pid" $children 2>/dev/null || true
    t0=$(now_s)
    while alive "$pid"; do
        if elapsed_ge "$t0" "$STOP_DEADLINE_S"; then
            echo "test-sshd: sshd $pid ignored SIGTERM for ${STOP_DEADLINE_S}s; sending SIGKILL" >&2
            # shellcheck disable=SC2086
            kill -KILL "$pid" $children 2>/dev/null || true
            t0=$(now_s)
            while alive "$pid"; do
                elapsed_ge "$t0" "$STOP_DEADLINE_S" && die "sshd $pid survived SIGKILL"
                sleep 0.02
            done
            break
        fi
        sleep 0.02
    done
}

# Spawn sshd on a fresh port and wait for a real login; returns 1 if sshd died (e.g. port taken).
spawn_and_wait() {
    local port=$1 t0 pid
    write_keys_and_config "$port"
    rm -f "$pidfile"
    install -d -m 0755 /run/sshd
    : >>"$logfile"
    # Close the lock descriptor: sshd must not inherit it, or it would hold DIR's lock forever.
    in_netns "$SSHD" -f "$config" -E "$logfile" 9>&- || return 1
    t0=$(now_s)
    while :; do
        if pid=$(live_pid); then
            if try_login "$port"; then
                print_env "$port" "$pid"
                return 0
            fi
        elif [[ -s "$pidfile" ]]; then
            return 1 # sshd wrote its pid file and is gone: it failed after daemonising
        fi
        if elapsed_ge "$t0" "$START_DEADLINE_S"; then
            echo "test-sshd: no working login to $NAS_USER@$HOST:$port within ${START_DEADLINE_S}s" >&2
            if pid=$(live_pid); then stop_pid "$pid"; fi
            return 1
        fi
        sleep 0.05
    done
}

cmd_start() {
    require_root
    local port pid attempt
    if [[ -n "${DMS_SSHD_OWNER_PID:-}" ]]; then
        echo "$DMS_SSHD_OWNER_PID" >"$dir/owner.pid"
    fi
    # Reuse: a live sshd of DIR that still answers logins.
    if pid=$(live_pid) && port=$(configured_port) && [[ -n "$port" ]] && try_login "$port"; then
        print_env "$port" "$pid"
        return 0
    fi
    if pid=$(live_pid); then
        echo "test-sshd: sshd $pid in $dir does not answer logins; restarting it" >&2
        stop_pid "$pid"
    fi
    ensure_user
    for attempt in 1 2 3; do
        port=$(free_port)
        if spawn_and_wait "$port"; then
            return 0
        fi
        echo "test-sshd: attempt $attempt on port $port failed" >&2
    done
    echo "test-sshd: last lines of $logfile:" >&2
    tail -n 20 "$logfile" >&2 || true
    die "could not start sshd in $dir"
}

cmd_stop() {
    local pid
    if pid=$(live_pid); then
        stop_pid "$pid"
    fi
    rm -f "$pidfile"
}

# Stop each sshd whose owner has ended; its state folder is left for whoever made it.
cmd_reap() {
    local owner_file owner
    for owner_file in /tmp/*/owner.pid; do
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
    pid=$(live_pid) || die "no running sshd in $dir (run: $0 start $dir)"
    port=$(configured_port) || die "no sshd_config in $dir"
    print_env "$port" "$pid"
}

case "$cmd" in
    stop | start)
        if [[ "$cmd" == stop && ! -d "$dir" ]]; then exit 0; fi
        # Serialise start/stop on DIR across processes (parallel test processes share one DIR).
        mkdir -p "$dir"
        exec 9>"$dir/.lock"
        flock -w 60 9 || die "timed out waiting for the lock on $dir"
        "cmd_$cmd"
        ;;
    env) cmd_env ;;
    reap) cmd_reap ;;
    *) usage ;;
esac
