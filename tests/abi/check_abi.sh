#!/bin/sh
# check_abi.sh LIBTLD SOURCE_DIR: compare the built library with the committed
# ABI baseline (abi/libtld.so.1.abi, written by abidw from the newest release).
# Fails on any change but additions: the layout of a type that the header's
# inline code of 0.2 compiles into callers (struct tld_priv_cache) is as
# binding as a function's signature, and abidiff counts a changed member
# offset behind a pointer as a compatible change (status 4).  The struct of
# 0.3's inline code, which no function takes, is checked in layout.c.  Refresh the
# baseline only together with a new version node in src/libtld.map:
#   abidw --headers-dir include/tld --drop-private-types --no-corpus-path \
#         --out-file abi/libtld.so.1.abi build/src/libtld.so.1
#   sed -i "s|comp-dir-path='[^']*'|comp-dir-path='build'|" abi/libtld.so.1.abi
set -u
lib=$1
src=$2
cur=$(mktemp)
report=$(mktemp)
trap 'rm -f "$cur" "$report"' EXIT
abidw --headers-dir "$src/include/tld" --drop-private-types --no-corpus-path "$lib" > "$cur" ||
	{ echo "abidw failed (is the library built with debug info?)" >&2; exit 1; }
abidiff --headers-dir1 "$src/include/tld" --headers-dir2 "$src/include/tld" \
	"$src/abi/libtld.so.1.abi" "$cur" > "$report"
rc=$?
cat "$report"
# abidiff's status is a bit mask: 1 error, 2 usage, 4 ABI change, 8 incompatible.
if [ $((rc & 11)) -ne 0 ]; then
	echo "incompatible ABI change against abi/libtld.so.1.abi (abidiff status $rc)" >&2
	exit 1
fi
# A change (status 4) may only add: no summary line may count anything
# removed or changed.
if [ $((rc & 4)) -ne 0 ] && grep -E 'summary:' "$report" | grep -qE '(^|[^0-9])[1-9][0-9]* (Removed|Changed)'; then
	echo "ABI change other than an addition against abi/libtld.so.1.abi" >&2
	exit 1
fi
echo "ABI compatible with the baseline (abidiff status $rc)"
