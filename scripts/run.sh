#!/bin/sh
# scripts/run.sh example|test [BUILD_DIR]
#
# Sets up everything on a fresh Debian 12 (as root), configures and builds,
# then either runs the end-to-end example or the whole test suite.  The test
# run ends with a line "N passed, N failed" and fails when any test failed,
# timed out or was skipped: on a machine that can build libtld, a skipped BPF
# test means the kernel or the privileges are missing, which is a failure.
set -eu

what=${1:-}
build=${2:-build}
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"

case "$what" in
example|test) ;;
*) echo "usage: $0 example|test [build-dir]" >&2; exit 2 ;;
esac

if [ "$(id -u)" -eq 0 ]; then
	sh scripts/setup-debian.sh
else
	echo "run.sh: not root: skipping package installation" >&2
fi

if [ -d "$build" ] && [ -f "$build/build.ninja" ]; then
	meson setup --reconfigure "$build" -Dbpf=enabled >/dev/null
else
	meson setup "$build" -Dbpf=enabled
fi
meson compile -C "$build"

if [ "$what" = example ]; then
	exec "$build/examples/hello_tld"
fi

rc=0
meson test -C "$build" --print-errorlogs --num-processes 2 || rc=$?
python3 - "$build/meson-logs/testlog.json" <<'PY' || rc=1
import json, sys
passed = failed = skipped = 0
bad = []
for line in open(sys.argv[1]):
    t = json.loads(line)
    r = t["result"]
    if r in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r == "SKIP":
        skipped += 1
        bad.append(t["name"] + " skipped")
    else:
        failed += 1
        bad.append(t["name"] + " " + r)
for b in bad:
    print("not passed: " + b)
print(f"{passed} passed, {failed + skipped} failed")
sys.exit(1 if failed or skipped else 0)
PY
exit $rc
