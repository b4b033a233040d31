# Sourced by scripts/e2e-systemd.sh: its helpers and the cleanup at exit. Uses that script's
# constants and state variables (SERVICE, pid1, nspawn_pid, work, failed, ...).
# shellcheck shell=bash

log() { echo "e2e-systemd: $*"; }
die() { echo "e2e-systemd: $*" >&2; exit 1; }
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1${why:+: $why}"; why=""; }
# check NAME FUNCTION: runs FUNCTION (errexit is off inside a function called from `if`, so every
# step in it ends with `|| { why=...; return 1; }`).
check() {
    local name=$1
    shift
    why=""
    if "$@"; then pass "$name"; else fail "$name"; fi
}

now_s() { date +%s.%N; }
elapsed_ge() { awk -v a="$1" -v b="$(now_s)" -v d="$2" 'BEGIN { exit !(b - a >= d) }'; }
# wait_for SECONDS COMMAND...: polls COMMAND until it succeeds; 1 after SECONDS.
wait_for() {
    local limit=$1 t0
    shift
    t0=$(now_s)
    until "$@"; do
        elapsed_ge "$t0" "$limit" && return 1
        sleep 0.2
    done
}

# ct COMMAND...: run COMMAND inside the container (all its namespaces, a clean environment).
ct() {
    nsenter -t "$pid1" -a -- /usr/bin/env -i PATH="$CT_PATH" LANG=C.UTF-8 TERM=dumb \
        SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}
# The container's file system from the host (writes land in the per-run overlay).
ctpath() { echo "/proc/$pid1/root$1"; }

prop() { ct systemctl show -p "$1" --value "$SERVICE"; }
is_active() { [[ "$(ct systemctl is-active "$SERVICE" 2>/dev/null || true)" == "$1" ]]; }

# jcount MESSAGE_ID: how many entries of the unit carry it. The output is captured before counting
# (under pipefail a reader that stops early would make journalctl fail).
jcount() {
    local out
    out=$(ct journalctl -q --no-pager -u "$SERVICE" -o json "MESSAGE_ID=$1") || return 1
    if [[ -z "$out" ]]; then echo 0; else printf '%s\n' "$out" | wc -l; fi
}
count_above() { local n; n=$(jcount "$1") && [[ "$n" -gt "$2" ]]; }
journal_has() {
    local out
    out=$(ct journalctl -q --no-pager -u "$SERVICE" -o cat) || return 1
    grep -qF -- "$1" <<<"$out"
}

# ---------------------------------------------------------------------------------------------
# Cleanup: always, whatever failed.

# Cgroups nspawn --keep-unit creates under ours (payload/, supervisor/) stay behind empty when the
# container is gone (no systemd on the host removes them); rmdir removes only empty ones.
remove_leftover_cgroups() {
    local line hierarchy path top base dir
    while IFS= read -r line; do
        hierarchy=${line#*:}
        path=${hierarchy#*:}
        hierarchy=${hierarchy%%:*}
        case "$hierarchy" in
            "") base=/sys/fs/cgroup/unified; [[ -d $base ]] || base=/sys/fs/cgroup ;;
            name=systemd) base=/sys/fs/cgroup/systemd ;;
            *) continue ;;
        esac
        for top in payload supervisor; do
            dir="$base${path%/}/$top"
            [[ -d "$dir" ]] || continue
            find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
        done
    done </proc/self/cgroup
}

descendants() {
    local child
    for child in $(pgrep -P "$1" 2>/dev/null || true); do
        echo "$child"
        descendants "$child"
    done
}

stop_container() {
    [[ -n "$nspawn_pid" ]] || return 0
    if [[ -n "$pid1" ]] && kill -0 "$pid1" 2>/dev/null; then
        kill -s RTMIN+3 "$pid1" 2>/dev/null || true     # systemd: halt
    fi
    if ! wait_for 30 bash -c "! kill -0 $nspawn_pid 2>/dev/null"; then
        echo "e2e-systemd: the container did not halt within 30 s; killing it" >&2
        kill -KILL "$nspawn_pid" ${pid1:+"$pid1"} 2>/dev/null || true
        wait_for 10 bash -c "! kill -0 $nspawn_pid 2>/dev/null" || echo "e2e-systemd: systemd-nspawn $nspawn_pid survived SIGKILL" >&2
    fi
    wait "$nspawn_pid" 2>/dev/null || true
    nspawn_pid=""
}

cleanup() {
    local rc=$?
    set +e
    if [[ ${#stopped_pids[@]} -gt 0 ]]; then kill -CONT "${stopped_pids[@]}" 2>/dev/null; fi
    if [[ -n "$pid1" ]] && kill -0 "$pid1" 2>/dev/null; then
        mkdir -p "$LOGS"
        ct journalctl --no-pager -o short-precise >"$LOGS/journal.txt" 2>&1
        if [[ $failed -gt 0 ]]; then
            echo "---- last 60 lines of journalctl -u $SERVICE (full journal: $LOGS/journal.txt) ----"
            ct journalctl --no-pager -u "$SERVICE" -n 60 -o short-precise
            echo "----"
        fi
    fi
    stop_container
    if [[ -n "${s3_dir:-}" && -d "$s3_dir" ]]; then "$repo/scripts/test-s3.sh" stop "$s3_dir" >/dev/null 2>&1; rm -rf -- "$s3_dir"; fi
    if [[ "$overlay_mounted" == yes ]]; then
        umount "$work/merged" 2>/dev/null || umount -l "$work/merged"
    fi
    [[ -n "$work" ]] && rm -rf --one-file-system -- "$work"
    remove_leftover_cgroups
    "$repo/scripts/test-sshd.sh" stop "$SSHD_DIR" >/dev/null || echo "e2e-systemd: could not stop the test sshd" >&2
    [[ -n "$nas_base" ]] && rm -rf -- "$nas_base"
    if [[ $rc -ne 0 && $failed -eq 0 ]]; then failed=1; echo "FAIL setup (exit $rc; see above)"; fi
    echo "e2e-systemd: $passed passed, $failed failed ($(($(date +%s) - t_start)) s)"
    [[ $failed -eq 0 ]] || exit 1
    exit "$rc"
}

