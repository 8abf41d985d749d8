#!/bin/sh
# bench/run.sh [--json PATH]: build the benchmark (release build, in
# $BENCH_BUILD_DIR or build-bench/ under the source root) and run every
# figure once, printing a Markdown table; with --json, also write the
# medians to PATH.  Needs root (BPF) and takes well under a minute.
set -eu

usage() {
	echo "usage: bench/run.sh [--json PATH]" >&2
	exit 2
}

src=$(cd "$(dirname "$0")/.." && pwd)
build=${BENCH_BUILD_DIR:-$src/build-bench}
json=
while [ $# -gt 0 ]; do
	case $1 in
	--json) [ $# -ge 2 ] || usage; json=$2; shift 2 ;;
	--json=*) json=${1#--json=}; shift ;;
	*) usage ;;
	esac
done
if [ "$(id -u)" != 0 ]; then
	echo "bench/run.sh: the BPF figures need root" >&2
	exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
opts="--buildtype=release -Dbench=true -Dbpf=enabled -Dtests=false -Dexamples=false"
if [ -f "$build/build.ninja" ]; then
	# shellcheck disable=SC2086
	meson configure "$build" $opts >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
else
	# shellcheck disable=SC2086
	meson setup "$build" "$src" $opts >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
fi
ninja -C "$build" bench/tld-bench >"$log" 2>&1 || { cat "$log" >&2; exit 1; }

exec "$build/bench/tld-bench" ${json:+--json "$json"}
