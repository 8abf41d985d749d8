#!/bin/sh
# scripts/run.sh example|test [BUILD_DIR]
#
# Sets up everything on a fresh Debian 12 (as root), configures and builds,
# then either runs the end-to-end example or the whole test suite.  The test
# run ends with a line "N passed, N failed" and fails when any test failed,
# timed out or was skipped: on a machine that can build libtld, a skipped BPF
# test means the kernel or the privileges are missing, which is a failure.
#
# After the normal run, `test` also runs (and counts in the same line):
#   BUILD_DIR-asan  built with -Db_sanitize=address,undefined: the unit, bpf
#                   and robustness suites under ASan and UBSan;
#   BUILD_DIR-tsan  built with -Db_sanitize=thread: unit, bpf, dlopen and
#                   stress under TSan;
#   BUILD_DIR       the unit, badinput and dlopen suites under valgrind
#                   (memcheck; not the race tests, which ASan and TSan run,
#                   nor the cases that register a map: memcheck 3.19 has
#                   no pidfd_open()).
# Set TLD_SANITIZE=0 to leave them out (a quicker local run).
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
logs="$build/meson-logs/testlog.json"
broken=""	# sanitizer builds that did not build: counted as failures
meson test -C "$build" --print-errorlogs --num-processes 2 || rc=$?

# sanitized NAME SETUP "MESON OPTIONS" SUITE...: configure and build
# $build-NAME, then run the suites with the test setup SETUP.
sanitized() {
	dir="$build-$1" setup=$2 opts=$3
	shift 3
	echo "run.sh: $dir: $*, test setup $setup" >&2
	# shellcheck disable=SC2086
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" -Dbpf=enabled -Dexamples=false $opts >/dev/null
	else
		meson setup "$dir" -Dbpf=enabled -Dexamples=false $opts >/dev/null
	fi || { broken="$broken $1"; return 0; }
	if ! meson compile -C "$dir" >"$dir/compile.log" 2>&1; then
		tail -n 40 "$dir/compile.log" >&2
		broken="$broken $1"
		return 0
	fi
	suites=""
	for s in "$@"; do
		suites="$suites --suite $s"
	done
	rm -f "$dir/meson-logs/testlog-$setup.json"
	# shellcheck disable=SC2086
	meson test -C "$dir" --setup "$setup" --print-errorlogs --num-processes 2 $suites || rc=1
	logs="$logs $dir/meson-logs/testlog-$setup.json"
}

if [ "${TLD_SANITIZE:-1}" != 0 ]; then
	sanitized asan asan "-Db_sanitize=address,undefined -Db_lundef=false" \
		unit bpf badinput badinput-bpf dlopen fault hostile privileges stress
	sanitized tsan tsan "-Db_sanitize=thread" unit bpf dlopen stress
	if command -v valgrind >/dev/null; then
		echo "run.sh: $build: unit, badinput, dlopen under valgrind" >&2
		# Not the race tests (a hundred forks of sixty threads each: far
		# too slow under memcheck; ASan and TSan run them), nor the checks
		# that every TEST_CASE is registered (python, nothing to check),
		# nor the cases also in 'bpf': registering a map needs
		# pidfd_open(), which memcheck 3.19 does not know.
		names=$(meson test -C "$build" --list --suite unit --suite badinput --suite dlopen \
			--no-suite bpf 2>/dev/null | sed -n 's|^[^ ]* / ||p' | grep -v -e '^race - ' -e '^every TEST_CASE' || true)
		set --
		while IFS= read -r name; do
			[ -z "$name" ] || set -- "$@" "$name"
		done <<EOF
$names
EOF
		rm -f "$build/meson-logs/testlog-valgrind.json"
		if [ $# -gt 0 ]; then
			meson test -C "$build" --setup valgrind --print-errorlogs --num-processes 2 "$@" || rc=1
		fi
		logs="$logs $build/meson-logs/testlog-valgrind.json"
	else
		broken="$broken valgrind"
	fi
fi

# shellcheck disable=SC2086
python3 - "$broken" $logs <<'PY' || rc=1
import json, os, sys
passed = failed = skipped = 0
bad = []
for b in sys.argv[1].split():
    failed += 1
    bad.append(f"[{b}] could not be built or run")
for log in sys.argv[2:]:
    # testlog-SETUP.json: label the setup's results; a log that is missing
    # means its run did not happen, which is a failure.
    name = os.path.basename(log)
    tag = "[" + name[len("testlog-"):-len(".json")] + "] " if name != "testlog.json" else ""
    if not os.path.exists(log):
        failed += 1
        bad.append(f"{tag or log + ' '}no test log")
        continue
    for line in open(log):
        t = json.loads(line)
        r = t["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
            bad.append(tag + t["name"] + " skipped")
        else:
            failed += 1
            bad.append(tag + t["name"] + " " + r)
for b in bad:
    print("not passed: " + b)
print(f"{passed} passed, {failed + skipped} failed")
sys.exit(1 if failed or skipped else 0)
PY
exit $rc
