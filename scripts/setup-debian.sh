#!/bin/sh
# Install what building and testing libtld needs on Debian 12 (bookworm) or
# later, and mount bpffs.  Idempotent; run as root.
#
# On bookworm, Catch2 3, meson >= 1.0, libbpf >= 1.4 and bpftool 7 come from
# bookworm-backports, which is added next to the existing Debian sources.
# clang-19 (BTF type tags for UPTR fields) and a current Rust toolchain
# (rustc-web, cargo-web) are in bookworm itself.
set -eu

if [ "$(id -u)" -ne 0 ]; then
	echo "setup-debian.sh: run as root (it installs packages)" >&2
	exit 1
fi

. /etc/os-release
export DEBIAN_FRONTEND=noninteractive
backports=""
# Rust (bindings/rust): Debian's rustc and cargo, except on bookworm, whose
# own (1.63) are too old for the crate; its -web packages carry a current
# toolchain, installed as /usr/bin/cargo and /usr/bin/rustc.
rust="rustc cargo"
if [ "${VERSION_CODENAME:-}" = bookworm ]; then
	rust="rustc-web cargo-web"
	list=/etc/apt/sources.list.d/bookworm-backports.sources
	if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
		# Use the mirror the machine already uses for Debian itself.
		mirror=$(grep -hs '^URIs:' /etc/apt/sources.list.d/debian.sources | head -n1 | awk '{print $2}')
		if [ -z "$mirror" ]; then
			mirror=$(grep -hs '^deb .*bookworm' /etc/apt/sources.list | head -n1 | awk '{print $2}')
		fi
		mirror=${mirror:-http://deb.debian.org/debian}
		cat > "$list" <<EOT
Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
	fi
	backports="-t bookworm-backports"
fi

need=""
for p in build-essential pkg-config ninja-build python3 clang-19 llvm-19 \
	libelf-dev zlib1g-dev binutils man-db groff-base \
	dpkg-dev debhelper lintian abigail-tools \
	valgrind libclang-rt-19-dev $rust; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need="$need $p"
done
# On bookworm these must come from backports: the bookworm versions are too
# old (Catch2 2, meson 1.0, libbpf 1.1, bpftool 7.1).
bp_need=""
for p in meson catch2 libbpf-dev bpftool; do
	st=$(dpkg-query -W -f='${Status} ${Version}' "$p" 2>/dev/null || true)
	case "$st" in
	*"ok installed"*bpo*) ;;
	*"ok installed"*) [ -z "$backports" ] || bp_need="$bp_need $p" ;;
	*) bp_need="$bp_need $p" ;;
	esac
done
if [ -n "$need$bp_need" ]; then
	apt-get update -q
	[ -z "$need" ] || apt-get install -y -q --no-install-recommends $need
	# shellcheck disable=SC2086
	[ -z "$bp_need" ] || apt-get install -y -q --no-install-recommends $backports $bp_need
fi

if ! mount | grep -q ' /sys/fs/bpf type bpf'; then
	mount -t bpf bpf /sys/fs/bpf
fi
