# Sourced by scripts/e2e-systemd.sh after its service checks (the package is installed and the
# daemon configured): the metrics drop-in, apt remove and purge, then a source install with
# install_daemon.sh of the same unit. Uses that script's helpers and state.
# shellcheck shell=bash

# ---------------------------------------------------------------------------------------------
# j. The Prometheus textfile folder, writable through the drop-in docs/install.md shows; the file
#    is world-readable (node_exporter runs as another user).

readonly PROM_DIR=/var/lib/prometheus/node-exporter
prom_written() { ct grep -q '^dji_media_sync_' "$PROM_DIR/dji_media_sync.prom" 2>/dev/null; }
check_j() {
    local rc=0 out mode
    config_json "$nas_base" | python3 -c '
import json, sys
c = json.load(sys.stdin)
c["health"] = {"prometheus_textfile": sys.argv[1] + "/dji_media_sync.prom"}
json.dump(c, sys.stdout, indent=2)' "$PROM_DIR" >"$(ctpath "$config_file")" || { why="cannot write the config"; return 1; }
    ct install -d -o root -g "$SVC_USER" -m 0775 "$PROM_DIR" || { why="cannot create $PROM_DIR"; return 1; }
    printf '[Service]\nReadWritePaths=%s\nUMask=0022\n' "$PROM_DIR" >"$(ctpath "/etc/systemd/system/$SERVICE.service.d/metrics.conf")"
    ct systemctl daemon-reload || { why="daemon-reload failed"; return 1; }
    out=$(ct systemctl restart "$SERVICE" 2>&1) || rc=$?
    [[ $rc -eq 0 ]] || { why="systemctl restart exited $rc: $out"; return 1; }
    wait_for 60 prom_written || { why="no dji_media_sync_ metrics in $PROM_DIR/dji_media_sync.prom within 60 s"; return 1; }
    mode=$(ct stat -c '%U %a' "$PROM_DIR/dji_media_sync.prom")
    [[ "$mode" == "$SVC_USER 644" ]] || { why="$PROM_DIR/dji_media_sync.prom is $mode, expected $SVC_USER 644"; return 1; }
    stat_is /var/lib/dji-media-sync "$SVC_USER:$SVC_USER" 750 || return 1
}
check "j. metrics drop-in (ReadWritePaths=$PROM_DIR, UMask=0022): the textfile is written, world-readable" check_j
rm -f "$(ctpath "/etc/systemd/system/$SERVICE.service.d/metrics.conf")"
restore_config
ct systemctl daemon-reload || true

# ---------------------------------------------------------------------------------------------
# h. remove, purge

check_h_remove() {
    local rc=0 out f
    out=$(ct_apt remove dji-media-sync 2>&1) || rc=$?
    [[ $rc -eq 0 ]] || { why="apt-get remove exited $rc: $(tail -n 5 <<<"$out" | tr '\n' ' ')"; return 1; }
    for f in /lib/systemd/system/$SERVICE.service /usr/bin/$SERVICE; do
        [[ ! -e "$(ctpath "$f")" ]] || { why="$f still there"; return 1; }
    done
    is_active inactive || { why="still $(ct systemctl is-active "$SERVICE" 2>&1) after remove"; return 1; }
    for f in "$config_file" /etc/dji-media-sync/id_ed25519 /var/lib/dji-media-sync/state.sqlite; do
        [[ -s "$(ctpath "$f")" ]] || { why="$f was removed"; return 1; }
    done
    ct getent passwd "$SVC_USER" >/dev/null || { why="user $SVC_USER removed by remove (only purge should)"; return 1; }
}
check "h. apt-get remove: unit and binary gone, service stopped; config, key, state and user kept" check_h_remove

check_h_purge() {
    local rc=0 out f
    out=$(ct_apt purge dji-media-sync 2>&1) || rc=$?
    [[ $rc -eq 0 ]] || { why="apt-get purge exited $rc: $(tail -n 5 <<<"$out" | tr '\n' ' ')"; return 1; }
    for f in "$config_file" /var/lib/dji-media-sync; do
        [[ ! -e "$(ctpath "$f")" ]] || { why="$f still there after purge"; return 1; }
    done
    ! ct getent passwd "$SVC_USER" >/dev/null || { why="user $SVC_USER still there after purge"; return 1; }
    [[ -z "$(ct dpkg-statoverride --list '/etc/dji-media-sync*')" ]] || { why="statoverrides left: $(ct dpkg-statoverride --list)"; return 1; }
    [[ "$(prop LoadState)" == not-found ]] || { why="LoadState=$(prop LoadState) after purge"; return 1; }
}
check "h. apt-get purge: state, config, statoverrides and the user gone" check_h_purge

# ---------------------------------------------------------------------------------------------
# k. Source install (install_daemon.sh) of the same unit, after the purge.

# A binary built without --static-swift-stdlib: refused, and the advice is the static build or
# the package, not apt-get (no Debian package has libswiftCore.so).
check_k_dynamic() {
    local rc=0 out
    printf 'print("hello")\n' >"$work/hello.swift"
    (cd "$work" && swiftc -o "$(ctpath /e2e/stage/hello-dynamic)" hello.swift) >"$work/swiftc.log" 2>&1 || { why="swiftc failed: $(tail -n 3 "$work/swiftc.log")"; return 1; }
    out=$(ct /e2e/repo/install_daemon.sh --binary /e2e/stage/hello-dynamic --no-start 2>&1) || rc=$?
    [[ $rc -ne 0 ]] || { why="install_daemon.sh accepted a binary that needs libswiftCore.so"; return 1; }
    grep -qF -- '--static-swift-stdlib' <<<"$out" && grep -qF 'build-deb.sh' <<<"$out" || { why="advice: $out"; return 1; }
    ! grep -qF 'apt-get install' <<<"$out" || { why="advises apt-get: $out"; return 1; }
    log "  $(grep -m1 'static-swift-stdlib' <<<"$out")"
    [[ ! -e "$(ctpath /usr/local/bin/$SERVICE)" ]] || { why="installed it anyway"; return 1; }
}
check "k. install_daemon.sh --binary <dynamically linked Swift>: refused, advice: --static-swift-stdlib or the .deb" check_k_dynamic

check_k_install() {
    local rc=0 out before
    install -m 0755 "$binary" "$(ctpath /e2e/stage/dji-media-sync)" && config_json "$nas_base" >"$(ctpath /e2e/stage/config.json)" || { why="cannot stage"; return 1; }
    out=$(ct /e2e/repo/install_daemon.sh --binary /e2e/stage/dji-media-sync --config /e2e/stage/config.json 2>&1) || rc=$?
    [[ $rc -eq 0 ]] || { why="install_daemon.sh exited $rc: $(tail -n 5 <<<"$out" | tr '\n' ' ')"; return 1; }
    [[ "$(prop ExecStart)" == *"path=/usr/local/bin/$SERVICE "* ]] || { why="ExecStart: $(prop ExecStart)"; return 1; }
    [[ "$(prop User)" == "$SVC_USER" ]] || { why="User=$(prop User)"; return 1; }
    stat_is /etc/dji-media-sync/id_ed25519 "root:$SVC_USER" 640 && stat_is "$config_file" "root:$SVC_USER" 640 || return 1
    before=$(jcount "$ID_FINISHED")
    wait_for 30 is_active active || { why="not active: $(ct systemctl is-active "$SERVICE" 2>&1)"; return 1; }
    wait_for 60 count_above "$ID_FINISHED" "$before" || { why="no cycle finished within 60 s"; return 1; }
    out=$(ct /e2e/repo/uninstall_daemon.sh --purge 2>&1) || { why="uninstall_daemon.sh --purge: $out"; return 1; }
    ! ct getent passwd "$SVC_USER" >/dev/null || { why="user $SVC_USER still there"; return 1; }
}
check "k. install_daemon.sh (source install, /usr/local/bin, same unit): user created, keys 0640, started, a cycle; uninstall --purge" check_k_install
