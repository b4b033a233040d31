# Sourced by scripts/e2e-systemd.sh once the container is up and the package installed: the
# service checks a. to i., in order (each defines its helpers, then runs). Uses that script's
# helpers and state.
# shellcheck shell=bash

# ---------------------------------------------------------------------------------------------
# a. start, STATUS

status_text() { ct systemctl status --no-pager -l "$SERVICE" 2>&1 || true; }
status_idle() { grep -qF 'Status: "idle — next cycle' <<<"$(status_text)"; }
check_a() {
    local rc=0 out
    out=$(ct systemctl start "$SERVICE" 2>&1) || rc=$?
    [[ $rc -eq 0 ]] || { why="systemctl start exited $rc: $out"; return 1; }
    is_active active || { why="is-active: $(ct systemctl is-active "$SERVICE" 2>&1)"; return 1; }
    wait_for 60 count_above "$ID_FINISHED" 0 || { why="no cycle finished within 60 s"; return 1; }
    wait_for 15 status_idle || { why="no 'Status: \"idle — next cycle' in systemctl status: $(grep -m1 'Status:' <<<"$(status_text)")"; return 1; }
    log "  $(grep -m1 'Status:' <<<"$(status_text)" | sed 's/^ *//')"
}
check "a. systemctl start → active; systemctl status shows the daemon's STATUS line" check_a

# The daemon's process: the service user, its group and the media group, no capabilities at all.
check_a_creds() {
    local st uid
    st=$(ct cat "/proc/$(prop MainPID)/status") || { why="cannot read the status of MainPID"; return 1; }
    uid=$(ct id -u "$SVC_USER")
    grep -qE "^Uid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid" <<<"$st" || { why="$(grep '^Uid:' <<<"$st"), $SVC_USER is $uid"; return 1; }
    grep -qE "^Groups:.*\b$(ct getent group "$MEDIA_GROUP" | cut -d: -f3)\b" <<<"$st" || { why="not in group $MEDIA_GROUP: $(grep '^Groups:' <<<"$st")"; return 1; }
    grep -qE '^CapEff:[[:space:]]+0+$' <<<"$st" && grep -qE '^CapBnd:[[:space:]]+0+$' <<<"$st" || { why="$(grep -E '^Cap(Eff|Bnd):' <<<"$st" | tr '\n' ' ')"; return 1; }
    grep -qE '^Seccomp:[[:space:]]+2$' <<<"$st" || { why="no seccomp filter: $(grep '^Seccomp:' <<<"$st")"; return 1; }
}
check "a. the daemon runs as $SVC_USER (+ group $MEDIA_GROUP), CapEff=CapBnd=0, seccomp filter on" check_a_creds

# The installed unit with the media-group drop-in, as the running systemd scores it.
check_a_exposure() {
    local out score
    out=$(ct systemd-analyze security --no-pager "$SERVICE" 2>&1) || { why="systemd-analyze security: $(tail -n 3 <<<"$out")"; return 1; }
    score=$(sed -n 's/^.*Overall exposure level for [^:]*: \([0-9.]*\) .*$/\1/p' <<<"$out")
    log "  systemd-analyze security $SERVICE: exposure ${score:-?}"
    [[ -n "$score" ]] && awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' || { why="exposure ${score:-?} > 2.5"; return 1; }
}
check "a. systemd-analyze security of the running unit (+ media-group drop-in) <= 2.5" check_a_exposure

# doctor as the service's user with the media group, as docs/operations.md tells operators to run
# it (sudo -u dji-media-sync -g dji-media; setpriv here: no sudo in the root).
check_a_doctor() {
    local rc=0 out
    out=$(ct setpriv --reuid="$SVC_USER" --regid="$SVC_USER" --groups="$SVC_USER,$MEDIA_GROUP" -- dji-media-sync doctor 2>&1) || rc=$?
    printf '%s\n' "$out" >"$LOGS/doctor.txt"
    [[ $rc -eq 0 ]] || { why="doctor exited $rc: $(grep -m3 '✗' <<<"$out" | tr '\n' ' ') (all: $LOGS/doctor.txt)"; return 1; }
}
check "a. doctor as $SVC_USER (+ group $MEDIA_GROUP): every check passes (key root:$SVC_USER 0640, media deletable)" check_a_doctor

# ---------------------------------------------------------------------------------------------
# b. journal: MESSAGE_IDs, structured fields; the files on the NAS

check_b_ids() {
    local id n
    for id in "$ID_STARTED" "$ID_FINISHED" "$ID_SYNCED"; do
        n=$(jcount "$id") || { why="journalctl failed"; return 1; }
        [[ "$n" -gt 0 ]] || { why="no entry with MESSAGE_ID=$id"; return 1; }
    done
    n=$(jcount "$ID_SYNCED")
    [[ "$n" -ge ${#samples[@]} ]] || { why="$n file-synced entries, expected ${#samples[@]}"; return 1; }
}
check "b. journalctl -u $SERVICE MESSAGE_ID= cycle started / cycle finished / file synced" check_b_ids

# Each file-synced entry: FILE, REMOTE_PATH, SHA256; the NAS copy (host path = REMOTE_PATH) hashes
# to SHA256, which is the sample's own hash.
check_b_fields() {
    local out rc=0 expected name
    out=$(ct journalctl -q --no-pager -u "$SERVICE" -o json "MESSAGE_ID=$ID_SYNCED") || { why="journalctl failed"; return 1; }
    expected=""
    for name in "${samples[@]}"; do expected+="$MEDIA/$name ${sample_sha[$name]}"$'\n'; done
    why=$(python3 - "$nas_base" "$expected" 3<<<"$out" <<'PY'
import hashlib, json, os, sys
base, expected = sys.argv[1], dict(l.rsplit(" ", 1) for l in sys.argv[2].splitlines() if l)
seen = {}
for line in open(3):
    e = json.loads(line)
    missing = [k for k in ("FILE", "REMOTE_PATH", "SHA256") if k not in e]
    if missing:
        print("file-synced entry without " + ",".join(missing) + ": " + str(e.get("MESSAGE"))); sys.exit(1)
    seen[e["FILE"]] = (e["REMOTE_PATH"], e["SHA256"])
for f, sha in expected.items():
    if f not in seen:
        print("no file-synced entry with FILE=" + f); sys.exit(1)
    remote, logged = seen[f]
    if logged != sha:
        print(f"{f}: SHA256 field {logged} != the sample's {sha}"); sys.exit(1)
    if not remote.startswith(base + "/"):
        print(f"{f}: REMOTE_PATH {remote} is not under {base}"); sys.exit(1)
    h = hashlib.sha256()
    try:
        with open(remote, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""): h.update(chunk)
    except OSError as err:
        print(f"{f}: NAS copy {remote}: {err}"); sys.exit(1)
    if h.hexdigest() != sha:
        print(f"{f}: NAS copy {remote} hashes to {h.hexdigest()}, expected {sha}"); sys.exit(1)
PY
) || rc=$?
    [[ $rc -eq 0 ]] || return 1
    why=""
}
check "b. journalctl -o json: file-synced entries carry FILE, REMOTE_PATH, SHA256; NAS copies match (sha256)" check_b_fields

sources_gone() {
    local name
    for name in "${samples[@]}"; do [[ ! -e "$(ctpath "$MEDIA/$name")" ]] || return 1; done
}

# ---------------------------------------------------------------------------------------------
# c. SIGUSR1 = sync now

check_c() {
    local before finished rc=0 out
    before=$(jcount "$ID_STARTED") || { why="journalctl failed"; return 1; }
    finished=$(jcount "$ID_FINISHED") || { why="journalctl failed"; return 1; }
    out=$(ct systemctl kill -s SIGUSR1 --kill-who=main "$SERVICE" 2>&1) || rc=$?
    [[ $rc -eq 0 ]] || { why="systemctl kill exited $rc: $out"; return 1; }
    wait_for 30 count_above "$ID_STARTED" "$before" || { why="no new 'cycle started' within 30 s ($before before)"; return 1; }
    wait_for 60 count_above "$ID_FINISHED" "$finished" || { why="the cycle did not finish within 60 s"; return 1; }
    is_active active || { why="not active after SIGUSR1"; return 1; }
}
check "c. systemctl kill -s SIGUSR1 --kill-who=main starts a cycle" check_c

check_deleted() {
    wait_for 30 sources_gone || { why="sources still in $MEDIA: $(find "$(ctpath "$MEDIA")" -maxdepth 1 -type f -printf '%f ')"; return 1; }
    local n
    n=$(jcount "$ID_DELETED") || { why="journalctl failed"; return 1; }
    [[ "$n" -ge ${#samples[@]} ]] || { why="$n 'source deleted' entries (MESSAGE_ID=$ID_DELETED), expected ${#samples[@]}"; return 1; }
}
check "b. delay_minutes 0: sources deleted after the verified copy (MESSAGE_ID=$ID_DELETED)" check_deleted

# ---------------------------------------------------------------------------------------------
# d. reload

check_d_good() {
    local before pid rc=0 out
    before=$(jcount "$ID_RELOADED") || { why="journalctl failed"; return 1; }
    pid=$(prop MainPID)
    out=$(ct systemctl reload "$SERVICE" 2>&1) || rc=$?
    [[ $rc -eq 0 ]] || { why="systemctl reload exited $rc: $out"; return 1; }
    wait_for 20 count_above "$ID_RELOADED" "$before" || { why="no 'configuration reloaded' entry within 20 s"; return 1; }
    is_active active || { why="not active after reload"; return 1; }
    [[ "$(prop MainPID)" == "$pid" ]] || { why="MainPID changed on reload"; return 1; }
}
check "d. systemctl reload → 'configuration reloaded' (MESSAGE_ID=$ID_RELOADED)" check_d_good

check_d_bad() {
    local before pid rc=0 out
    before=$(jcount "$ID_REJECTED") || { why="journalctl failed"; return 1; }
    pid=$(prop MainPID)
    config_json "$nas_base" | sed 's/"interval_minutes": 10/"interval_minutes": "soon"/' >"$(ctpath "$config_file")"
    out=$(ct systemctl reload "$SERVICE" 2>&1) || rc=$?
    [[ $rc -eq 0 ]] || { why="systemctl reload exited $rc: $out"; return 1; }
    wait_for 20 count_above "$ID_REJECTED" "$before" || { why="no 'reload rejected' entry within 20 s"; return 1; }
    is_active active || { why="not active after a rejected reload: $(ct systemctl is-active "$SERVICE" 2>&1)"; return 1; }
    [[ "$(prop MainPID)" == "$pid" ]] || { why="MainPID changed on a rejected reload"; return 1; }
}
check "d. bad config + reload → rejected (MESSAGE_ID=$ID_REJECTED), service stays active" check_d_bad
restore_config
ct systemctl reload "$SERVICE" >/dev/null 2>&1 || true

# ---------------------------------------------------------------------------------------------
# e. restart

check_e() {
    local before rc=0 out after
    before=$(prop MainPID)
    out=$(ct systemctl restart "$SERVICE" 2>&1) || rc=$?
    [[ $rc -eq 0 ]] || { why="systemctl restart exited $rc: $out"; return 1; }
    is_active active || { why="not active after restart"; return 1; }
    after=$(prop MainPID)
    [[ "$after" != 0 && "$after" != "$before" ]] || { why="MainPID $before → $after"; return 1; }
}
check "e. systemctl restart → new MainPID, active" check_e

# Upgrade: the package installed again; postinst restarts the daemon (the config passes the check),
# and the operator's edited config (a conffile) is kept without a question.
check_upgrade() {
    local before rc=0 out sum
    before=$(prop MainPID)
    sum=$(sha256sum <"$(ctpath "$config_file")")
    out=$(ct_apt install --reinstall "/e2e/stage/$(basename "$deb")" 2>&1) || rc=$?
    [[ $rc -eq 0 ]] || { why="apt-get install --reinstall exited $rc: $(tail -n 5 <<<"$out" | tr '\n' ' ')"; return 1; }
    [[ "$(sha256sum <"$(ctpath "$config_file")")" == "$sum" ]] || { why="the edited config was replaced"; return 1; }
    stat_is "$config_file" "root:$SVC_USER" 640 || return 1
    wait_for 30 is_active active || { why="not active after the upgrade: $(ct systemctl is-active "$SERVICE" 2>&1)"; return 1; }
    [[ "$(prop MainPID)" != "$before" ]] || { why="MainPID $before unchanged: not restarted"; return 1; }
}
check "e. upgrade (apt-get install --reinstall ./deb): restarted, the edited config kept (root:$SVC_USER 0640)" check_upgrade

# ---------------------------------------------------------------------------------------------
# f. watchdog: a transfer that stops moving bytes stops the pings; systemd kills and restarts.

temp_on_nas() { [[ -n "$(find "$nas_base" -name '.dms-*' -print -quit 2>/dev/null)" ]]; }
stop_sshd_sessions() {
    local pids p changed=yes
    # Until no new descendant appears (a session may fork while we stop its parent).
    while [[ "$changed" == yes ]]; do
        changed=no
        mapfile -t pids < <(descendants "$DMS_SSHD_PID")
        for p in "${pids[@]}"; do
            [[ " ${stopped_pids[*]} " == *" $p "* ]] && continue
            kill -STOP "$p" 2>/dev/null && stopped_pids+=("$p") && changed=yes
        done
    done
    [[ ${#stopped_pids[@]} -gt 0 ]]
}
watchdog_fired() { journal_has "Watchdog timeout"; }
restarted_since() { # restarted_since NRESTARTS MAINPID
    [[ "$(prop NRestarts)" -gt "$1" ]] && [[ "$(prop MainPID)" != "$2" ]] && is_active active
}
check_f() {
    local big="$MEDIA/DJI_20240503090000_0009_D.MP4" finished started nrestarts pid rc=0 out size
    install -d "$(ctpath /etc/systemd/system/$SERVICE.service.d)"
    printf '[Service]\nWatchdogSec=6s\n' >"$(ctpath "/etc/systemd/system/$SERVICE.service.d/e2e.conf")"
    ct systemctl daemon-reload || { why="daemon-reload failed"; return 1; }
    finished=$(jcount "$ID_FINISHED")
    out=$(ct systemctl restart "$SERVICE" 2>&1) || rc=$?
    [[ $rc -eq 0 ]] || { why="restart with WatchdogSec=6s exited $rc: $out"; return 1; }
    [[ "$(prop WatchdogUSec)" == 6s ]] || { why="WatchdogUSec=$(prop WatchdogUSec), expected 6s"; return 1; }
    wait_for 60 count_above "$ID_FINISHED" "$finished" || { why="the cycle after restart did not finish"; return 1; }

    truncate -s 2G "$(ctpath "$big")" || { why="cannot create $big"; return 1; }
    touch -d '2 hours ago' "$(ctpath "$big")" || { why="cannot set the mtime of $big"; return 1; }
    started=$(jcount "$ID_STARTED")
    nrestarts=$(prop NRestarts)
    pid=$(prop MainPID)
    ct systemctl kill -s SIGUSR1 --kill-who=main "$SERVICE" || { why="SIGUSR1 failed"; return 1; }
    wait_for 30 count_above "$ID_STARTED" "$started" || { why="no cycle started"; return 1; }
    wait_for 60 temp_on_nas || { why="no .dms-* temp file under $nas_base within 60 s"; return 1; }
    stop_sshd_sessions || { why="no sshd session process under listener $DMS_SSHD_PID"; return 1; }
    size=$(find "$nas_base" -name '.dms-*' -printf '%s\n' | sort -n | tail -n1)
    log "  stopped sshd sessions ${stopped_pids[*]} (temp file at ${size:-?} bytes of 2 GiB)"
    wait_for 60 watchdog_fired || { why="no 'Watchdog timeout' in journalctl -u $SERVICE within 60 s"; return 1; }
    # The restarted daemon would copy the 2 GiB file again: take it away while systemd waits RestartSec.
    rm -f "$(ctpath "$big")"
    wait_for 60 restarted_since "$nrestarts" "$pid" || { why="not restarted within 60 s: NRestarts=$(prop NRestarts) (was $nrestarts), MainPID=$(prop MainPID) (was $pid), $(ct systemctl is-active "$SERVICE" 2>&1)"; return 1; }
    # Captured first: under pipefail, grep -m1 closing the pipe early would fail journalctl.
    out=$(ct journalctl -q --no-pager -u "$SERVICE" -o cat)
    log "  $(grep -m1 -F 'Watchdog timeout' <<<"$out")"
    log "  Result before restart: $(grep -m1 -F "Failed with result 'watchdog'" <<<"$out" || echo '?')"
}
check "f. watchdog: a stalled transfer → 'Watchdog timeout', the service is restarted" check_f
if [[ ${#stopped_pids[@]} -gt 0 ]]; then kill -CONT "${stopped_pids[@]}" 2>/dev/null || true; stopped_pids=(); fi
rm -f "$(ctpath "/etc/systemd/system/$SERVICE.service.d/e2e.conf")"
ct systemctl daemon-reload || true

# ---------------------------------------------------------------------------------------------
# g. stop → exit 0; config error → 78, no restart loop

check_g_stop() {
    local rc=0 out
    is_active active || wait_for 30 is_active active || { why="not active before stop"; return 1; }
    out=$(ct systemctl stop "$SERVICE" 2>&1) || rc=$?
    [[ $rc -eq 0 ]] || { why="systemctl stop exited $rc: $out"; return 1; }
    is_active inactive || { why="is-active: $(ct systemctl is-active "$SERVICE" 2>&1)"; return 1; }
    [[ "$(prop ExecMainStatus)" == 0 ]] || { why="ExecMainStatus=$(prop ExecMainStatus) ExecMainCode=$(prop ExecMainCode)"; return 1; }
    [[ "$(prop Result)" == success ]] || { why="Result=$(prop Result)"; return 1; }
}
check "g. systemctl stop → inactive, ExecMainStatus=0" check_g_stop

unit_failed() { [[ "$(prop ActiveState)" == failed ]]; }
restarts_climb() { [[ "$(prop NRestarts)" -gt "$1" ]] || ! unit_failed; }
check_g_78() {
    local nrestarts rc=0
    config_json "$nas_base" | sed 's/"interval_minutes": 10/"interval_minutes": "soon"/' >"$(ctpath "$config_file")"
    ct systemctl restart "$SERVICE" >/dev/null 2>&1 || rc=$?
    [[ $rc -ne 0 ]] || { why="systemctl restart succeeded with an invalid config"; return 1; }
    # NRestarts counts automatic restarts since the last manual start (systemd flushes it then), so
    # it is read after this restart; a scheduled restart would raise it after RestartSec.
    nrestarts=$(prop NRestarts)
    wait_for 10 unit_failed || { why="ActiveState=$(prop ActiveState) SubState=$(prop SubState) NRestarts=$(prop NRestarts) (was $nrestarts), expected failed"; return 1; }
    [[ "$(prop ExecMainStatus)" == 78 ]] || { why="ExecMainStatus=$(prop ExecMainStatus), expected 78"; return 1; }
    # 'failed' (not 'activating (auto-restart)') already means no restart is scheduled; watch for
    # RestartSec=10 plus a margin to see it stay that way.
    if wait_for 13 restarts_climb "$nrestarts"; then
        why="restarted: NRestarts $nrestarts → $(prop NRestarts), ActiveState=$(prop ActiveState)"
        return 1
    fi
}
check "g. invalid config: systemctl restart → failed, ExecMainStatus=78, NRestarts does not climb" check_g_78
restore_config

# ---------------------------------------------------------------------------------------------
# i. A bucket beside the NAS (SeaweedFS on the host), credentials from an EnvironmentFile= drop-in
#    as docs/object-storage.md tells operators: a new file lands on both, is verified on both, and
#    only then is its source deleted; the object is the file.

s3_dir=/tmp/dms-e2e-s3.$$
s3_file=DJI_20240503101500_0004_D.JPG
file_synced_to_s3() {
    local out
    out=$(ct journalctl -q --no-pager -u "$SERVICE" -o json "MESSAGE_ID=$ID_SYNCED" "DESTINATION=offsite") || return 1
    grep -qF -- "$MEDIA/$s3_file" <<<"$out"
}
s3_source_gone() { [[ ! -e "$(ctpath "$MEDIA/$s3_file")" ]]; }
check_i() {
    local env_out rc=0 out name value host_config sha url got
    env_out=$("$repo/scripts/test-s3.sh" start "$s3_dir" 2>&1) || { why="test-s3.sh start failed: $(tail -n 3 <<<"$env_out" | tr '\n' ' ')"; return 1; }
    while IFS='=' read -r name value; do
        case "$name" in DMS_S3_ENDPOINT | DMS_S3_ACCESS_KEY | DMS_S3_SECRET_KEY | DMS_S3_REGION) printf -v "$name" '%s' "$value" ;; esac
    done <<<"$env_out"
    # The daemon's config: the NAS as before, plus the bucket.
    config_json "$nas_base" | python3 -c '
import json, sys
c = json.load(sys.stdin)
c["destinations"].append({"type": "s3", "name": "offsite", "provider": "minio", "endpoint": sys.argv[1],
                          "region": sys.argv[2], "bucket": "dms-e2e", "prefix": "dock-7/", "proxy": "none"})
json.dump(c, sys.stdout, indent=2)' "$DMS_S3_ENDPOINT" "$DMS_S3_REGION" >"$(ctpath "$config_file")" || { why="cannot write the config"; return 1; }
    host_config="$work/s3-host.json"
    cp "$(ctpath "$config_file")" "$host_config"
    # The bucket, made by the admin command from the host.
    out=$(AWS_ACCESS_KEY_ID=$DMS_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$DMS_S3_SECRET_KEY "$binary" bucket create --destination offsite --config "$host_config" 2>&1) \
        || { why="bucket create: $out"; return 1; }
    printf 'AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n' "$DMS_S3_ACCESS_KEY" "$DMS_S3_SECRET_KEY" >"$(ctpath /etc/dji-media-sync/aws.env)"
    chmod 0600 "$(ctpath /etc/dji-media-sync/aws.env)"
    install -d -m 0755 "$(ctpath "/etc/systemd/system/$SERVICE.service.d")"
    printf '[Service]\nEnvironmentFile=/etc/dji-media-sync/aws.env\n' >"$(ctpath "/etc/systemd/system/$SERVICE.service.d/s3-credentials.conf")"
    head -c 500000 /dev/urandom >"$(ctpath "$MEDIA/$s3_file")"
    touch -d '2 hours ago' "$(ctpath "$MEDIA/$s3_file")"
    sha=$(sha256sum <"$(ctpath "$MEDIA/$s3_file")" | cut -d' ' -f1)
    ct systemctl daemon-reload || { why="daemon-reload failed"; return 1; }
    out=$(ct systemctl restart "$SERVICE" 2>&1) || rc=$?
    [[ $rc -eq 0 ]] || { why="systemctl restart exited $rc: $out"; return 1; }
    wait_for 60 file_synced_to_s3 || { why="no file-synced entry with DESTINATION=offsite for $s3_file within 60 s"; return 1; }
    # delay_minutes 0: the next cycle re-verifies on both destinations and deletes the source.
    ct systemctl kill -s SIGUSR1 --kill-who=main "$SERVICE" >/dev/null 2>&1 || { why="systemctl kill failed"; return 1; }
    wait_for 60 s3_source_gone || { why="$MEDIA/$s3_file still there 60 s after a SIGUSR1"; return 1; }
    [[ -s "$nas_base/2024/05/03/$s3_file" ]] || { why="no NAS copy at $nas_base/2024/05/03/$s3_file"; return 1; }
    url=$(AWS_ACCESS_KEY_ID=$DMS_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$DMS_S3_SECRET_KEY "$binary" presign get "dock-7/2024/05/03/$s3_file" --expires 10m --destination offsite --config "$host_config" 2>&1) \
        || { why="presign: $url"; return 1; }
    got=$(curl -sSf "$url" | sha256sum | cut -d' ' -f1) || { why="GET of the presigned URL failed"; return 1; }
    [[ "$got" == "$sha" ]] || { why="the object hashes to $got, the file was $sha"; return 1; }
    ! journal_has "$DMS_S3_SECRET_KEY" || { why="the secret key is in the journal"; return 1; }
}
check "i. s3 destination beside the NAS, credentials from an EnvironmentFile= drop-in: both copies verified before the source is deleted" check_i
"$repo/scripts/test-s3.sh" stop "$s3_dir" >/dev/null 2>&1 || log "could not stop the e2e S3 server in $s3_dir"
rm -rf -- "$s3_dir"
restore_config

