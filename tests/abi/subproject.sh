#!/bin/sh
# subproject.sh SOURCE_DIR: build a tiny project that pulls libtld in with
# dependency('tld', fallback: ['tld', 'tld_dep']), builds a BPF program of
# its own against libtld's BPF header (the dependency's variable
# bpf_includedir), and run its programs.  Twice: with libtld's defaults
# (shared library, tldctl, man pages), and with -Ddefault_library=static
# -Dtld:tools=false -Dtld:man=false (a static library linked into C and C++
# programs, no tldctl, no man pages).
set -eu
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$src/tests/subproject/meson.build.in" "$work/meson.build"
cp "$src/tests/abi/consumer/consumer.c" "$src/tests/abi/consumer/consumer.cpp" \
	"$src/tests/subproject/parent.bpf.c" "$src/tests/subproject/parent_open.c" "$work/"
mkdir "$work/subprojects"
ln -s "$src" "$work/subprojects/tld"

fail() {
	echo "subproject.sh: $*" >&2
	exit 1
}

# build NAME MESON_OPTION...: configure and build $work/NAME.
build() {
	dir=$work/$1
	shift
	meson setup "$dir" "$work" --force-fallback-for=tld "$@" >"$dir.setup.log" 2>&1 ||
		{ cat "$dir.setup.log" >&2; fail "meson setup $* failed"; }
	meson compile -C "$dir" >"$dir.compile.log" 2>&1 ||
		{ cat "$dir.compile.log" >&2; fail "meson compile ($*) failed"; }
	[ "$("$dir/consumer-c")" = 42 ] || fail "$dir/consumer-c did not print 42"
	[ "$("$dir/consumer-cpp")" = 42 ] || fail "$dir/consumer-cpp did not print 42"
	out=$("$dir/parent-open") || fail "$dir/parent-open failed"
	[ "$out" = "tld_data_map tld_key_map parent_switch tld_exec" ] ||
		fail "the parent's BPF object holds '$out', not the header's maps, its program and tld_exec"
	meson introspect --installed "$dir" >"$dir.installed.json"
}
installs() {	# installs NAME PATTERN: NAME's build installs a file matching PATTERN
	grep -q "$2" "$work/$1.installed.json"
}
needs_libtld() {	# needs_libtld PROGRAM: PROGRAM loads libtld.so.1
	readelf -d "$1" | grep -q 'NEEDED.*\[libtld\.so\.1\]'
}

build shared
for p in consumer-c consumer-cpp; do
	needs_libtld "$work/shared/$p" || fail "$p of the default build does not load libtld.so.1"
done
installs shared '/bin/tldctl"' || fail "the default build does not install tldctl"
installs shared '/man3/tld_create_key\.3"' || fail "the default build does not install the man pages"
installs shared '/libtld\.so\.1"' || fail "the default build does not install libtld.so.1"

build static -Ddefault_library=static -Dtld:tools=false -Dtld:man=false
for p in consumer-c consumer-cpp; do
	! needs_libtld "$work/static/$p" || fail "$p of the static build loads libtld.so.1"
	nm "$work/static/$p" | grep -q ' T tld_create_key$' ||
		fail "$p of the static build does not hold tld_create_key"
done
! installs static '/bin/tldctl"' || fail "-Dtld:tools=false still installs tldctl"
[ ! -e "$work/static/subprojects/tld/tools/tldctl/tldctl" ] || fail "-Dtld:tools=false still builds tldctl"
! installs static '/man/' || fail "-Dtld:man=false still installs man pages"
installs static '/libtld\.a"' || fail "the static build does not install libtld.a"
! installs static '/libtld\.so' || fail "the static build installs a shared libtld"
# The installed static library, found with pkg-config --static, links into a
# C program (which needs what tld.pc lists in Libs.private: libstdc++).
root=$work/root
meson install -C "$work/static" --destdir "$root" --no-rebuild --quiet
pc=$(find "$root" -name tld.pc -path '*/pkgconfig/*' | head -n1)
[ -n "$pc" ] || fail "the static build installs no tld.pc"
PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$root pkg-config --static --libs tld >"$work/libs" ||
	fail "pkg-config --static --libs tld failed"
# shellcheck disable=SC2046
cc -std=c11 "$src/tests/abi/consumer/consumer.c" -o "$work/static-pc-c" \
	-I"$root$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --variable=includedir tld)" $(cat "$work/libs") ||
	fail "a C program does not link the installed static library with pkg-config --static --libs tld: $(cat "$work/libs")"
! needs_libtld "$work/static-pc-c" || fail "static-pc-c loads libtld.so.1"
[ "$("$work/static-pc-c")" = 42 ] || fail "static-pc-c did not print 42"
# -Dtld:tools=false alone keeps the man pages of the library, not tldctl(1)
# (configured only: what would be installed).
meson setup "$work/notools" "$work" --force-fallback-for=tld -Dtld:tools=false >"$work/notools.setup.log" 2>&1 ||
	{ cat "$work/notools.setup.log" >&2; fail "meson setup -Dtld:tools=false failed"; }
meson introspect --installed "$work/notools" >"$work/notools.installed.json"
installs notools '/man3/tld_create_key\.3"' || fail "-Dtld:tools=false does not install the library's man pages"
! installs notools '/man1/tldctl\.1"' || fail "-Dtld:tools=false installs tldctl(1)"
! installs notools '/bin/tldctl"' || fail "-Dtld:tools=false installs tldctl"
echo "libtld built as a subproject, shared and static; C, C++ and BPF consumers built and ran"
