#!/usr/bin/env bash
# The demo: one real sync of sample drone media to a "NAS" (a private sshd on this machine).
#
# Run as root on Debian 12 with Swift installed:   scripts/demo.sh
#
# It installs the Debian packages, builds dji-media-sync (release), starts the private sshd as the
# NAS, creates ~20 DJI-like sample files, writes a config, runs `dji-media-sync sync --once`, shows
# where every file landed on the NAS with its SHA-256 beside the local one, and stops the sshd.
# Everything lives under /tmp/dms-demo. DMS_SCRATCH_PATH picks the swift build scratch path.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scratch=${DMS_SCRATCH_PATH:-.build}
readonly demo=/tmp/dms-demo
readonly sshd_dir=$demo/sshd
readonly media=$demo/media
readonly nas_base=$demo/nas/dji-media
readonly config=$demo/media_sync_config.json

section() { printf '\n== %s\n' "$*"; }
die() { printf 'demo: FAILED: %s\n' "$*" >&2; exit 1; }

[[ "$(id -u)" -eq 0 ]] || die "run as root: it installs packages and starts an sshd (sudo $0)"
command -v swift >/dev/null || die "swift is not on PATH: install a Swift 6 toolchain (https://swift.org/install/linux/)"

section "1. Debian packages"
"$repo/scripts/install-deps.sh"

section "2. Build dji-media-sync (release)"
(cd "$repo" && swift build -c release --scratch-path "$scratch" --product dji-media-sync)
dms="$(cd "$repo" && swift build -c release --scratch-path "$scratch" --show-bin-path)/dji-media-sync"
[[ -x "$dms" ]] || die "no binary at $dms"
echo "binary: $dms"

section "3. The NAS: a private sshd on 127.0.0.1, remote user dms-nas"
trap '"$repo/scripts/test-sshd.sh" stop "$sshd_dir"' EXIT
sshd_env=$("$repo/scripts/test-sshd.sh" start "$sshd_dir")
eval "$sshd_env"
rm -rf -- "$media" "$demo/nas" "$demo/state" "$demo/run"
install -d -m 0755 "$demo/nas"
install -d -m 0755 -o "$DMS_SSH_USER" -g "$DMS_SSH_USER" "$nas_base"
echo "NAS: $DMS_SSH_USER@$DMS_SSH_HOST port $DMS_SSH_PORT, base path $nas_base (sshd pid $DMS_SSHD_PID)"

section "4. Sample media from a DJI drone"
card=$media/DCIM/100MEDIA
mkdir -p -- "$card"
# make_file NAME SIZE_BYTES MTIME: random content, modification time as the camera would set it.
make_file() {
    head -c "$2" /dev/urandom >"$card/$1"
    touch -d "$3" -- "$card/$1"
}
# Day one: five photos, each as JPG and DNG (RAW).
for i in 1 2 3 4 5; do
    stamp=$(printf '202506140930%02d' $((i * 7)))
    name=$(printf 'DJI_%s_%04d_D' "$stamp" "$i")
    when="2025-06-14 09:30:$(printf '%02d' $((i * 7)))"
    make_file "$name.JPG" $((300000 + i * 1000)) "$when"
    make_file "$name.DNG" $((900000 + i * 1000)) "$when"
done
# Day two: three more photo pairs.
for i in 6 7 8; do
    stamp=$(printf '202506151012%02d' $((i * 5)))
    name=$(printf 'DJI_%s_%04d_D' "$stamp" "$i")
    when="2025-06-15 10:12:$(printf '%02d' $((i * 5)))"
    make_file "$name.JPG" $((310000 + i * 1000)) "$when"
    make_file "$name.DNG" $((910000 + i * 1000)) "$when"
done
# Day two: a short video with its subtitle track (flight telemetry) and low-resolution proxy.
video=DJI_20250615101500_0009_D
make_file "$video.MP4" 2097152 "2025-06-15 10:15:30"
make_file "$video.LRF" 262144 "2025-06-15 10:15:30"
{
    for s in 1 2 3; do
        printf '%d\n00:00:0%d,000 --> 00:00:0%d,000\n' "$s" $((s - 1)) "$s"
        printf '[iso: 100] [shutter: 1/500.0] [fnum: 2.8] [latitude: 22.5431] [longitude: 113.9578] [rel_alt: 45.2]\n\n'
    done
} >"$card/$video.SRT"
touch -d "2025-06-15 10:15:30" -- "$card/$video.SRT"
# A file whose name carries no timestamp: it is filed by its modification time instead.
make_file "PANORAMA_EDIT.JPG" 150000 "2 days ago"
(cd "$media" && find . -type f -printf '%TY-%Tm-%Td %TH:%TM  %8s bytes  %P\n' | sort -k5)
echo "$(find "$media" -type f | wc -l) files under $media"

section "5. Configuration ($config)"
cat >"$config" <<JSON
{
  "local": { "media_roots": ["$media"], "min_file_age_seconds": 0 },
  "destinations": [ { "type": "nas", "name": "nas", "host": "$DMS_SSH_HOST", "port": $DMS_SSH_PORT,
      "user": "$DMS_SSH_USER", "identity_file": "$DMS_SSH_KEY", "known_hosts_file": "$DMS_SSH_KNOWN_HOSTS",
      "base_path": "$nas_base" } ],
  "delete_policy": { "delete_sources": true, "delay_minutes": 60 },
  "concurrency_control": { "lock_file": "$demo/run/sync.lock" },
  "state": { "directory": "$demo/state", "runtime_directory": "$demo/run" }
}
JSON
cat "$config"
echo "(sources are deleted only 60 minutes after their copy was verified: not during this demo)"

section "6. One sync cycle: dji-media-sync sync --once"
rc=0
"$dms" sync --once --config "$config" || rc=$?
echo "exit status: $rc"
[[ "$rc" -eq 0 ]] || die "dji-media-sync sync exited with $rc"

section "7. On the NAS: where every file landed, remote SHA-256 next to the local one"
declare -A local_sha
while IFS= read -r -d '' path; do
    sum=$(sha256sum -- "$path" | cut -d' ' -f1)
    local_sha[${path##*/}]=$sum
done < <(find "$media" -type f -print0)
# Hash on the NAS side, over ssh as the NAS user (the base path has no characters that need quoting).
remote=$(ssh -F none -p "$DMS_SSH_PORT" -i "$DMS_SSH_KEY" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$DMS_SSH_KNOWN_HOSTS" -o LogLevel=ERROR \
    -- "$DMS_SSH_USER@$DMS_SSH_HOST" "cd '$nas_base' && find . -type f | sort | xargs -r sha256sum")
matched=0
mismatched=0
echo "under $nas_base:"
printf '%-44s  %-17s  %-17s  %s\n' "NAS path" "NAS sha256" "local sha256" ""
while read -r sum rel; do
    [[ -n "$sum" ]] || continue
    rel=${rel#./}
    mine=${local_sha[${rel##*/}]:-}
    if [[ "$sum" == "$mine" ]]; then verdict=same; matched=$((matched + 1)); else verdict=DIFFERENT; mismatched=$((mismatched + 1)); fi
    # Widths count bytes: the 3-byte "…" stays outside the padded fields.
    printf '%-44s  %-16s…  %-16s…  %s\n' "$rel" "${sum:0:16}" "${mine:0:16}" "$verdict"
done <<<"$remote"
echo
echo "$matched of ${#local_sha[@]} local files are on the NAS with the same SHA-256; $mismatched differ."
if [[ -n "$(find "$nas_base" -name '.dms-*' -print -quit)" ]]; then
    die "temporary .dms-* files were left on the NAS"
fi
[[ "$mismatched" -eq 0 && "$matched" -eq "${#local_sha[@]}" ]] || die "the NAS copy does not match the local files"

section "8. Status (dji-media-sync status --json)"
"$dms" status --json --config "$config" || echo "(status exited with $?)"

section "Done: the NAS sshd is stopped on exit; everything is under $demo"
