#!/bin/sh
# check_abi.sh LIBTLD SOURCE_DIR: compare the built library with the committed
# ABI baseline (abi/libtld.so.1.abi, written by abidw from the 0.1.0 release).
# Fails on any incompatible change; additions are compatible.  Refresh the
# baseline only together with a new version node in src/libtld.map:
#   abidw --headers-dir include/tld --drop-private-types --no-corpus-path \
#         --out-file abi/libtld.so.1.abi build/src/libtld.so.1
set -u
lib=$1
src=$2
cur=$(mktemp)
trap 'rm -f "$cur"' EXIT
abidw --headers-dir "$src/include/tld" --drop-private-types --no-corpus-path "$lib" > "$cur" ||
	{ echo "abidw failed (is the library built with debug info?)" >&2; exit 1; }
abidiff --headers-dir1 "$src/include/tld" --headers-dir2 "$src/include/tld" \
	"$src/abi/libtld.so.1.abi" "$cur"
rc=$?
# abidiff's status is a bit mask: 1 error, 2 usage, 4 ABI change, 8 incompatible.
if [ $((rc & 11)) -ne 0 ]; then
	echo "incompatible ABI change against abi/libtld.so.1.abi (abidiff status $rc)" >&2
	exit 1
fi
echo "ABI compatible with the baseline (abidiff status $rc)"
