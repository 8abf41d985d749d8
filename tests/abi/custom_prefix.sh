#!/bin/sh
# custom_prefix.sh SOURCE_DIR [--template]: libtld installed in a prefix of
# its own, as the README says to use it from there:
#   - a program built with `pkg-config --cflags --libs tld` does not find
#     libtld.so.1 on its own, and runs with LD_LIBRARY_PATH set to the
#     libdir, or when linked with -Wl,-rpath,LIBDIR;
#   - a program that calls libbpf itself does not link with tld's flags
#     alone, and links with `pkg-config --cflags --libs tld libbpf`;
#   - a Meson project finds it with PKG_CONFIG_PATH: its programs run from
#     the build directory, and once installed with
#     install_rpath: tld.get_variable('libdir');
#   - with --template (the BPF toolchain is installed), the consumer
#     template (examples/consumer) builds against it, taking <tld/tld.bpf.h>
#     from the prefix.
# libtld is configured here with the library and headers only
# (-Dtests=false -Dexamples=false -Dtools=false -Dman=false).
set -eu
src=$1
template=${2:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/opt/tld
fail() {
	echo "custom_prefix.sh: $*" >&2
	exit 1
}
log() {	# log NAME COMMAND...: run COMMAND, its output in $work/NAME.log
	name=$1
	shift
	"$@" >"$work/$name.log" 2>&1 || { cat "$work/$name.log" >&2; fail "$name failed: $*"; }
}

log setup meson setup "$work/build" "$src" --prefix "$prefix" -Dtests=false -Dexamples=false \
	-Dtools=false -Dman=false -Dbpf=disabled
log compile meson compile -C "$work/build"
log install meson install -C "$work/build"

export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$(find "$prefix" -name tld.pc -path '*/pkgconfig/*' | head -n1)")
libdir=$(pkg-config --variable=libdir tld)
[ -e "$libdir/libtld.so.1" ] || fail "pkg-config names $libdir, which has no libtld.so.1"
consumer=$src/tests/abi/consumer

# shellcheck disable=SC2046
cc -std=c11 "$consumer/consumer.c" -o "$work/plain" $(pkg-config --cflags --libs tld)
if env -u LD_LIBRARY_PATH "$work/plain" >/dev/null 2>&1; then
	fail "a program of a custom prefix ran without LD_LIBRARY_PATH or an rpath (the README says it cannot)"
fi
[ "$(LD_LIBRARY_PATH=$libdir "$work/plain")" = 42 ] || fail "LD_LIBRARY_PATH=$libdir did not make it run"
# shellcheck disable=SC2046
cc -std=c11 "$consumer/consumer.c" -o "$work/rpath" $(pkg-config --cflags --libs tld) -Wl,-rpath,"$libdir"
[ "$(env -u LD_LIBRARY_PATH "$work/rpath")" = 42 ] || fail "-Wl,-rpath,$libdir did not make it run"

# shellcheck disable=SC2046
if cc -std=c11 "$consumer/uses_libbpf.c" -o "$work/no-libbpf" $(pkg-config --cflags --libs tld) \
	>"$work/no-libbpf.log" 2>&1; then
	fail "a program calling libbpf linked with tld's flags alone (the README says it needs libbpf's)"
fi
# shellcheck disable=SC2046
cc -std=c11 "$consumer/uses_libbpf.c" -o "$work/libbpf" $(pkg-config --cflags --libs tld libbpf) \
	-Wl,-rpath,"$libdir"
[ "$("$work/libbpf")" = 42 ] || fail "the program that calls libbpf did not run"

mkdir "$work/app"
cp "$consumer/consumer.c" "$work/app/"
cat >"$work/app/meson.build" <<'MESON'
project('app', 'c')
tld = dependency('tld')
executable('app', 'consumer.c', dependencies: tld,
  install: true, install_rpath: tld.get_variable('libdir'))
MESON
log app-setup meson setup "$work/app/build" "$work/app" --prefix "$work/app/prefix"
log app-compile meson compile -C "$work/app/build"
[ "$(env -u LD_LIBRARY_PATH "$work/app/build/app")" = 42 ] ||
	fail "the Meson program did not run from its build directory"
log app-install meson install -C "$work/app/build"
[ "$(env -u LD_LIBRARY_PATH "$work/app/prefix/bin/app")" = 42 ] ||
	fail "the installed Meson program did not run with install_rpath"
if [ "$template" = --template ]; then
	cp -R "$src/examples/consumer" "$work/consumer"
	log template-setup meson setup "$work/consumer/build" "$work/consumer" --werror
	log template-compile meson compile -C "$work/consumer/build"
	grep -q -- "-I$prefix/include " "$work/consumer/build/build.ninja" ||
		fail "the template's BPF build does not take <tld/tld.bpf.h> from $prefix/include"
	ldd "$work/consumer/build/tld-writer" | grep -q "libtld\.so\.1 => $libdir/libtld\.so\.1" ||
		fail "the template's tld-writer does not load $libdir/libtld.so.1"
fi
echo "a custom prefix: LD_LIBRARY_PATH, -Wl,-rpath, libbpf's flags and Meson's install_rpath work as the README says"
