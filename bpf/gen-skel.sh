#!/bin/sh
# gen-skel.sh CLANG BPFTOOL NAME SOURCE SKEL_OUT OBJ_OUT CFLAGS...
# Compile one BPF program and generate its libbpf skeleton.
set -eu
clang=$1 bpftool=$2 name=$3 src=$4 skel=$5 obj=$6
shift 6
"$clang" "$@" -c "$src" -o "$obj.tmp"
# Linking drops the DWARF and normalizes the object, so that the skeleton
# depends on the source and not on the build directory.
"$bpftool" gen object "$obj" "$obj.tmp"
rm -f "$obj.tmp"
"$bpftool" gen skeleton "$obj" name "$name" > "$skel.tmp"
mv "$skel.tmp" "$skel"
