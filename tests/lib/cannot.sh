# Sourced by the suites' shell scripts: what a test does when it cannot run
# on this machine, the rule tests/lib/skip.hpp states for C++.
#
# cannot WHO REASON: skip (exit 77), or fail (exit 1) when CI is set to
# anything but "", "false" or "0", so that CI never passes a test it did
# not run.
cannot() {
	case "${CI:-}" in
	"" | false | 0)
		echo "$1: $2: skipping" >&2
		exit 77
		;;
	esac
	echo "$1: $2 (CI is set: failing)" >&2
	exit 1
}
