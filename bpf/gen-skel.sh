#!/bin/sh
# gen-skel.sh CLANG BPFTOOL NAME SKEL_OUT OBJ_OUT SOURCE... -- CFLAGS...
# Compile BPF sources, link them into one object and generate its libbpf
# skeleton.
set -eu
clang=$1 bpftool=$2 name=$3 skel=$4 obj=$5
shift 5
srcs=""
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	srcs="$srcs $1"
	shift
done
[ $# -gt 0 ] || { echo "gen-skel.sh: no -- before the compiler flags" >&2; exit 2; }
shift
parts=""
n=0
for src in $srcs; do
	n=$((n + 1))
	"$clang" "$@" -c "$src" -o "$obj.$n.tmp"
	parts="$parts $obj.$n.tmp"
done
# Linking drops the DWARF and normalizes the object, so that the skeleton
# depends on the source and not on the build directory.
# shellcheck disable=SC2086
"$bpftool" gen object "$obj" $parts
# shellcheck disable=SC2086
rm -f $parts
"$bpftool" gen skeleton "$obj" name "$name" > "$skel.tmp"
mv "$skel.tmp" "$skel"
