#!/bin/sh
# install_consume.sh BUILD_DIR SOURCE_DIR: install into a temporary root and
# build a C and a C++ consumer with `pkg-config --cflags --libs tld` alone.
set -eu
build=$1
src=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
meson install -C "$build" --destdir "$root" --no-rebuild --quiet
pc=$(find "$root" -name tld.pc -path '*/pkgconfig/*' | head -n1)
[ -n "$pc" ] || { echo "tld.pc was not installed" >&2; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_SYSROOT_DIR=$root
[ "$(pkg-config --modversion tld)" = "$(sed -n "s/^  version: '\(.*\)',$/\1/p" "$src/meson.build" | head -n1)" ] ||
	{ echo "tld.pc version differs from the project version" >&2; exit 1; }
# pkgconf prefixes variables with the sysroot itself; pkg-config does not.
in_root() { case "$1" in "$root"*) echo "$1" ;; *) echo "$root$1" ;; esac; }
includedir=$(in_root "$(pkg-config --variable=includedir tld)")
for h in tld.h tld.hpp tld.bpf.h tld_layout.h; do
	[ -f "$includedir/tld/$h" ] || { echo "missing header $h" >&2; exit 1; }
done
bpf_includedir=$(in_root "$(pkg-config --variable=bpf_includedir tld)")
[ -f "$bpf_includedir/tld/tld.bpf.h" ] ||
	{ echo "pkg-config --variable=bpf_includedir tld names $bpf_includedir, which has no tld/tld.bpf.h" >&2; exit 1; }
libdir=$(in_root "$(pkg-config --variable=libdir tld)")
[ -L "$libdir/libtld.so" ] && [ -e "$libdir/libtld.so.1" ] || { echo "libtld.so links missing" >&2; exit 1; }
cc -std=c11 -Wall -Werror "$src/tests/abi/consumer/consumer.c" -o "$root/c-consumer" $(pkg-config --cflags --libs tld)
c++ -std=c++20 -Wall -Werror "$src/tests/abi/consumer/consumer.cpp" -o "$root/cpp-consumer" $(pkg-config --cflags --libs tld)
[ "$(LD_LIBRARY_PATH=$libdir "$root/c-consumer")" = 42 ]
[ "$(LD_LIBRARY_PATH=$libdir "$root/cpp-consumer")" = 42 ]
echo "installed, found with pkg-config, C and C++ consumers built and ran"
