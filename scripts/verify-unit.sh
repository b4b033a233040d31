#!/usr/bin/env bash
# Checks systemd/dji-media-sync.service (or the unit given) with `systemd-analyze verify`, and its
# hardening with `systemd-analyze security --offline=yes`: the exposure score must be <= 2.5
# (DMS_MAX_EXPOSURE overrides; the score is printed).
#
# systemd-analyze exits 0 on unknown keys and unparsable values, so ANY output on stderr is a
# failure here. The unit's ExecStart binary must exist for verify, so a copy of the unit is
# pointed at a stub executable in a temp dir. A deliberately broken copy is checked first, to
# prove this systemd-analyze reports what we rely on.
#
# Usage: scripts/verify-unit.sh [path/to/unit.service]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
unit="${1:-$here/../systemd/dji-media-sync.service}"
max_exposure=${DMS_MAX_EXPOSURE:-2.5}

command -v systemd-analyze >/dev/null || { echo "verify-unit: systemd-analyze not found (apt-get install systemd)" >&2; exit 1; }
[[ -f "$unit" ]] || { echo "verify-unit: no such unit file: $unit" >&2; exit 1; }
# The package's unit starts /usr/bin/dji-media-sync, a source install's /usr/local/bin/...
binary=$(sed -n 's|^ExecStart=\(/usr\(/local\)\{0,1\}/bin/dji-media-sync\) .*|\1|p' "$unit")
[[ -n "$binary" ]] || { echo "verify-unit: $unit: ExecStart does not start with /usr/bin/dji-media-sync or /usr/local/bin/dji-media-sync" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf -- "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/good" "$tmp/bad"
printf '#!/bin/sh\nexit 0\n' >"$tmp/bin/dji-media-sync"
chmod 755 "$tmp/bin/dji-media-sync"

name="$(basename "$unit")"
sed "s|$binary|$tmp/bin/dji-media-sync|g" "$unit" >"$tmp/good/$name"
sed 's/^Nice=/Nicee=/' "$tmp/good/$name" >"$tmp/bad/$name"
printf 'Nicee=10\n' >>"$tmp/bad/$name"

# verify: exit status, stdout and stderr of one run.
verify() {
    local rc=0
    systemd-analyze verify --man=no "$1" >"$tmp/out" 2>"$tmp/err" || rc=$?
    return "$rc"
}

# 1. The checker must catch a typo.
verify "$tmp/bad/$name" || true
if ! grep -q "Unknown key 'Nicee'" "$tmp/err"; then
    echo "verify-unit: systemd-analyze did not report an unknown key; cannot trust it:" >&2
    cat "$tmp/err" >&2
    exit 1
fi

# 2. The real unit: exit 0 and nothing at all on stderr.
rc=0
verify "$tmp/good/$name" || rc=$?
cat "$tmp/out"
if [[ $rc -ne 0 || -s "$tmp/err" ]]; then
    echo "verify-unit: FAILED: $unit (exit $rc):" >&2
    sed "s|$tmp/good/||g; s|$tmp/bin/dji-media-sync|$binary|g" "$tmp/err" >&2
    exit 1
fi

# 3. Hardening. --offline=yes scores the file itself (no running systemd needed); the score is the
#    last line: "→ Overall exposure level for NAME: 1.3 OK".
rc=0
systemd-analyze security --offline=yes --no-pager "$tmp/good/$name" >"$tmp/out" 2>"$tmp/err" || rc=$?
score=$(sed -n 's/^.*Overall exposure level for [^:]*: \([0-9.]*\) .*$/\1/p' "$tmp/out" | tail -n1)
if [[ $rc -ne 0 || -z "$score" ]]; then
    echo "verify-unit: systemd-analyze security failed (exit $rc):" >&2
    cat "$tmp/err" "$tmp/out" >&2
    exit 1
fi
if ! awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s <= m) }'; then
    grep '✗' "$tmp/out" >&2 || true
    echo "verify-unit: FAILED: exposure $score > $max_exposure (systemd-analyze security --offline=yes $unit)" >&2
    exit 1
fi
echo "verify-unit: exposure $score (<= $max_exposure; systemd-analyze security --offline=yes)"
echo "verify-unit: OK: $unit ($(systemd-analyze --version | head -n1))"
