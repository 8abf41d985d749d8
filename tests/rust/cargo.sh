#!/bin/sh
# cargo.sh CARGO TARGET_DIR BUILD_ROOT CRATE_DIR [--bpf] COMMAND [ARGS...]
#
# Runs `CARGO COMMAND --offline --locked ARGS` on the Rust crate in CRATE_DIR
# against this build tree: pkg-config finds BUILD_ROOT/tld-uninstalled.pc,
# programs find BUILD_ROOT's libtld.so.1, and cargo writes only to
# TARGET_DIR (its build outputs, and CARGO_HOME under it), never to the
# source tree (--locked: the committed Cargo.lock is used as it is).
# Warnings are errors.
#
# The rustc and rustdoc beside CARGO are used (set RUSTC or RUSTDOC to
# override), so that the toolchain the build found is the one that runs,
# whatever else is on PATH.
#
# An empty CARGO means the build found none: the test skips (77), or fails
# when CI is set.  With --bpf, it first asks `$TLDCTL probe` whether task
# local data works here, and skips or fails the same way when it does not.
set -eu

cargo=$1 target=$2 build=$3 crate=$4
shift 4

. "$(dirname "$0")/../lib/cannot.sh"

[ -n "$cargo" ] || cannot cargo.sh "cargo was not found when the build was configured (scripts/setup-debian.sh installs it)"

if [ "${1:-}" = --bpf ]; then
	shift
	if ! probe=$("${TLDCTL:?TLDCTL names the built tldctl}" probe 2>&1); then
		echo "$probe" >&2
		cannot cargo.sh "task local data does not work here (tldctl probe)"
	fi
fi

bin=$(dirname "$cargo")
[ -n "${RUSTC:-}" ] || [ ! -x "$bin/rustc" ] || export RUSTC="$bin/rustc"
[ -n "${RUSTDOC:-}" ] || [ ! -x "$bin/rustdoc" ] || export RUSTDOC="$bin/rustdoc"
export CARGO_TARGET_DIR="$target"
export CARGO_HOME="$target/cargo-home"
export TLD_PKG_CONFIG_PATH="$build"
libdir=$(PKG_CONFIG_PATH="$build" "${PKG_CONFIG:-pkg-config}" --variable=libdir tld)
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export RUSTFLAGS="-D warnings"
export RUSTDOCFLAGS="-D warnings"
export CARGO_TERM_COLOR=never

sub=$1
shift
cd "$crate"
exec "$cargo" "$sub" --offline --locked "$@"
