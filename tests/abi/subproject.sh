#!/bin/sh
# subproject.sh SOURCE_DIR: build a tiny project that pulls libtld in with
# dependency('tld', fallback: ['tld', 'tld_dep']) and run its C and C++
# programs.
set -eu
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$src/tests/subproject/meson.build.in" "$work/meson.build"
cp "$src/tests/abi/consumer/consumer.c" "$src/tests/abi/consumer/consumer.cpp" "$work/"
mkdir "$work/subprojects"
ln -s "$src" "$work/subprojects/tld"
meson setup "$work/build" "$work" --force-fallback-for=tld >"$work/setup.log" 2>&1 ||
	{ cat "$work/setup.log" >&2; exit 1; }
meson compile -C "$work/build" >"$work/compile.log" 2>&1 ||
	{ cat "$work/compile.log" >&2; exit 1; }
[ "$("$work/build/consumer-c")" = 42 ]
[ "$("$work/build/consumer-cpp")" = 42 ]
echo "libtld built as a subproject; C and C++ consumers ran"
