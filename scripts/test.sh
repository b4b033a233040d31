#!/usr/bin/env bash
# The one test command (what CI runs): installs the Debian packages, builds, runs every test.
#
#   scripts/test.sh [extra swift test arguments, e.g. --filter SSHDHarnessTests]
#
# Run as root on Debian 12 (the tests start a private sshd and create its user). The tests' shared
# sshd (TestSSHServer.shared(), started on first use) gets a state folder of this run's own,
# DMS_TEST_SSHD_DIR, and is stopped when this script ends, whatever the outcome: a run beside this
# one (another checkout, a plain `swift test` using /tmp/dms-test-sshd) keeps its own server.
# DMS_SCRATCH_PATH picks the swift build scratch path (default .build).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scratch=${DMS_SCRATCH_PATH:-.build}
cd "$repo"

export DMS_TEST_SSHD_DIR="/tmp/dms-test-sshd-run.$$"
# The same for the tests' S3 server (SeaweedFS, scripts/test-s3.sh).
export DMS_TEST_S3_DIR="/tmp/dms-test-s3-run.$$"
stop_test_servers() {
    scripts/test-sshd.sh stop "$DMS_TEST_SSHD_DIR" || echo "test.sh: could not stop the test sshd" >&2
    rm -rf -- "$DMS_TEST_SSHD_DIR"
    # Private servers of tests whose process ended without stopping them (a crash).
    scripts/test-sshd.sh reap || echo "test.sh: could not reap private test sshds" >&2
    scripts/test-s3.sh stop "$DMS_TEST_S3_DIR" || echo "test.sh: could not stop the test S3 server" >&2
    rm -rf -- "$DMS_TEST_S3_DIR"
    scripts/test-s3.sh reap || echo "test.sh: could not reap test S3 servers" >&2
}
trap stop_test_servers EXIT

scripts/install-deps.sh

# Remote base folders of earlier runs (TestSSHServer.makeRemoteBase); an hour's grace so that a
# run going on beside this one keeps its folders.
if [[ -d /tmp/dms-test-nas ]]; then
    find /tmp/dms-test-nas -mindepth 1 -maxdepth 1 -mmin +60 -exec rm -rf -- {} +
fi

echo "== swift format lint --strict (the style is .swift-format; swift format format -i -r Sources Tests fixes it)"
swift format lint --strict -r Package.swift Sources Tests

echo "== swift build --build-tests"
swift build --scratch-path "$scratch" --build-tests

echo "== swift test"
# swift-testing runs tests in parallel by default; a failure makes swift test exit non-zero.
# Two groups run on their own afterwards: the fault simulation keeps both cores busy for a while,
# and the daemon tests time a live daemon's event loop (watchdog cadence, SIGTERM mid-transfer);
# side by side with everything else on 2 cores they failed in some full runs.
swift test --scratch-path "$scratch" --skip-build --skip "FaultSimulation|IntegrationTests" "$@"
if [[ $# -eq 0 ]]; then
    echo "== the binary and the daemon (IntegrationTests)"
    swift test --scratch-path "$scratch" --skip-build --filter IntegrationTests --no-parallel
    # Seeds 1-100 every run, and 200 more that change every day: over a year, tens of thousands
    # of schedules. A failing seed is printed with the command that replays it.
    sim_first=${DMS_SIM_FIRST:-$(( ($(date +%s) / 86400 % 500) * 200 + 101 ))}
    echo "== fault simulation (seeds 1-100 and ${sim_first}-$((sim_first + 199)))"
    DMS_SIM_SEEDS=100 DMS_SIM_FIRST=1 swift test --scratch-path "$scratch" --skip-build --filter FaultSimulation
    DMS_SIM_SEEDS=${DMS_SIM_SEEDS:-200} DMS_SIM_FIRST=$sim_first swift test --scratch-path "$scratch" --skip-build --filter FaultSimulation
fi

echo "== the unit: systemd-analyze verify and security (exposure <= 2.5)"
scripts/verify-unit.sh

echo "== the Debian package (release build, static Swift stdlib; lintian)"
deb=$(scripts/build-deb.sh --out "${DMS_DIST:-dist}")

echo "== systemd end-to-end"
# Boots Debian 12 with systemd-nspawn, installs that .deb in it and drives the dji-media-sync unit
# (scripts/e2e-systemd.sh).
DMS_E2E_DEB=$deb scripts/e2e-systemd.sh

echo "== all tests passed"
