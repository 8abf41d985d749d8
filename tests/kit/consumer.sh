#!/bin/sh
# consumer.sh SOURCE_DIR BUILD_DIR TLDCTL: the consumer template
# (examples/consumer) end to end, the way someone who copied it uses it.
#
# The folder is copied into a scratch directory and built there as a
# project of its own, against this build tree's libtld (pkg-config finds
# BUILD_DIR/tld-uninstalled.pc), with warnings as errors.  Then:
#   1. the loader runs once: it creates and pins tld_data_map in a pin
#      directory of its own, and exits;
#   2. the writer registers the pinned map and its threads publish;
#   3. the loader runs again, a new instance that reuses the pinned map:
#      it must have read, from every writer thread, exactly the values the
#      writer printed, and every TLD must have been found.
#
# When task local data does not work here (TLDCTL probe fails) the test
# skips (77), or fails when CI is set.
set -eu
src=$1 build=$2 tldctl=$3
threads=3

. "$(dirname "$0")/../lib/cannot.sh"
fail() {
	echo "consumer.sh: $*" >&2
	exit 1
}
if ! probe=$("$tldctl" probe 2>&1); then
	echo "$probe" >&2
	cannot consumer.sh "task local data does not work here (tldctl probe)"
fi

work=$(mktemp -d)
pin=/sys/fs/bpf/tld-kit-consumer-$$
writer=""
cleanup() {
	if [ -n "$writer" ]; then
		kill "$writer" 2>/dev/null || true
		wait "$writer" 2>/dev/null || true
	fi
	rm -rf "$work" "$pin"
}
trap cleanup EXIT

cp -R "$src/examples/consumer" "$work/consumer"
export PKG_CONFIG_PATH=$build
libdir=$(pkg-config --variable=libdir tld)
[ "$libdir" = "$build/src" ] ||
	fail "pkg-config names $libdir for tld, not the build tree's $build/src (tld-uninstalled.pc)"
meson setup "$work/build" "$work/consumer" --werror >"$work/setup.log" 2>&1 ||
	{ cat "$work/setup.log" >&2; fail "meson setup of the template failed"; }
meson compile -C "$work/build" >"$work/compile.log" 2>&1 ||
	{ cat "$work/compile.log" >&2; fail "meson compile of the template failed"; }
bin=$work/build
# meson gives the programs a build-time RUNPATH to the library pkg-config named.
ldd "$bin/tld-writer" | grep -q "libtld\.so\.1 => $libdir/libtld\.so\.1" ||
	{ ldd "$bin/tld-writer" >&2; fail "tld-writer does not load the build tree's libtld.so.1"; }

"$bin/tld-consumer" --pin-root "$pin" --seconds 1 >"$work/first.out" 2>"$work/first.err" ||
	{ cat "$work/first.err" >&2; fail "the first loader failed"; }
[ -e "$pin/tld_data_map" ] || fail "the loader did not pin tld_data_map in $pin"

"$bin/tld-writer" "$pin/tld_data_map" "$threads" >"$work/writer.out" 2>"$work/writer.err" &
writer=$!
tries=0
while [ "$(grep -c '^tid ' "$work/writer.out" || true)" -lt "$threads" ]; do
	kill -0 "$writer" 2>/dev/null || { cat "$work/writer.err" >&2; fail "the writer exited"; }
	tries=$((tries + 1))
	[ $tries -lt 100 ] || fail "the writer's threads did not publish within 10 s"
	sleep 0.1
done

"$bin/tld-consumer" --pin-root "$pin" --seconds 2 >"$work/second.out" 2>"$work/second.err" ||
	{ cat "$work/second.err" >&2; fail "the second loader failed"; }
kill -0 "$writer" 2>/dev/null || { cat "$work/writer.err" >&2; fail "the writer exited early"; }
kill "$writer"
wstatus=0
wait "$writer" || wstatus=$?
writer=""
[ $wstatus -eq 0 ] || { cat "$work/writer.err" >&2; fail "the writer exited $wstatus on SIGTERM"; }

echo "the writer published:"
cat "$work/writer.out"
echo "the restarted loader read:"
cat "$work/second.out"
grep '^tid ' "$work/writer.out" | sort >"$work/wrote"
grep '^tid ' "$work/second.out" | sed 's/ switches [0-9]*$//' | sort >"$work/read"
diff -u "$work/wrote" "$work/read" >&2 ||
	fail "the restarted loader's BPF program did not read exactly what the writer's threads published"
for name in consumer.priority consumer.request_id consumer.label; do
	n=$(awk -v name="$name" '$1 == name { print $2 }' "$work/second.out")
	[ -n "$n" ] && [ "$n" -gt 0 ] || fail "no read found the TLD $name (count '$n')"
done
echo "the BPF program read every value the writer published, through a pinned map, after a restart"
