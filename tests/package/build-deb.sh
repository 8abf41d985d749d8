#!/bin/sh
# build-deb.sh SOURCE_DIR: build the Debian packages from a copy of the
# source tree (dpkg-buildpackage -us -uc -b), check what each package holds,
# and run lintian on the result: any lintian error fails.
set -eu
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/libtld"
if [ -d "$src/.git" ] && command -v git >/dev/null; then
	# The tracked files as they are in the working tree.
	(cd "$src" && git ls-files -z --cached --others --exclude-standard) |
		(cd "$src" && xargs -0 cp --parents -t "$work/libtld")
else
	(cd "$src" && tar --exclude='./build*' --exclude=./.git -cf - .) | tar -C "$work/libtld" -xf -
fi
cd "$work/libtld"
# The suites already ran in the build that runs this test.
DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b -Pnocheck >"$work/build.log" 2>&1 ||
	{ tail -n 60 "$work/build.log" >&2; exit 1; }
cd "$work"
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
fail=0
expect() {	# expect PACKAGE PATH...
	pkg=$1
	shift
	deb=$(ls "$work"/"$pkg"_*.deb)
	list=$(dpkg-deb -c "$deb" | awk '{print $6}')
	for p in "$@"; do
		echo "$list" | grep -q "^\./$p" || { echo "$pkg lacks $p" >&2; fail=1; }
	done
}
expect libtld1 "usr/lib/$arch/libtld.so.1"
expect libtld-dev usr/include/tld/tld.h usr/include/tld/tld.hpp usr/include/tld/tld.bpf.h \
	usr/include/tld/tld_layout.h "usr/lib/$arch/libtld.so" "usr/lib/$arch/pkgconfig/tld.pc" \
	usr/share/man/man3/tld_create_key.3 usr/share/man/man7/libtld.7
expect tldctl usr/bin/tldctl usr/share/man/man1/tldctl.1
doc=usr/share/doc/libtld-dev
expect libtld-dev "$doc/README.md" "$doc/changelog.gz" "$doc/CHANGELOG.md" \
	"$doc/examples/hello_tld.c" "$doc/examples/hello_tld.cpp" "$doc/examples/phase_profile.bpf.c" \
	"$doc/examples/consumer/meson.build" "$doc/examples/consumer/consumer.bpf.c" \
	"$doc/examples/consumer/loader.c" "$doc/examples/consumer/writer.c" \
	"$doc/examples/consumer/consumer.h" "$doc/examples/consumer/README.md"
# The upstream changelog, not a stub; the examples as they are in the tree.
mkdir "$work/dev"
dpkg-deb -x "$work"/libtld-dev_*.deb "$work/dev"
[ "$(zcat "$work/dev/$doc/changelog.gz" | head -n1)" = "# Changelog" ] ||
	{ echo "libtld-dev's changelog.gz is not CHANGELOG.md" >&2; fail=1; }
if [ -d "$work/dev/$doc/examples/consumer" ]; then
	for f in "$src"/examples/consumer/*; do
		cmp -s "$f" "$work/dev/$doc/examples/consumer/$(basename "$f")" ||
			{ echo "libtld-dev's examples/consumer/$(basename "$f") differs from the tree's" >&2; fail=1; }
	done
fi
dpkg-deb -c "$work"/libtld1_*.deb | grep -q 'usr/include' && { echo "libtld1 ships headers" >&2; fail=1; }
lintian --fail-on error --tag-display-limit 0 "$work"/*.changes || fail=1
[ $fail -eq 0 ] && echo "libtld1, libtld-dev and tldctl built; lintian: no errors"
exit $fail
