#!/bin/sh
# exe_wrapper of the 'valgrind' test setup (top-level meson.build): run a
# test program under memcheck, errors and definite leaks failing the test.
# Scripts and their interpreters (the check_registered.py tests, shell
# tests) run as they are: memcheck is for libtld's code, not python's.
case "$(basename "$1")" in
python*|sh|bash|dash|env|*.py|*.sh) exec "$@" ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
# Tests that spin while another thread waits for them scale their rounds
# down under memcheck, which runs one thread at a time.
export TLD_TEST_UNDER_VALGRIND=1
exec valgrind --fair-sched=yes --quiet --error-exitcode=1 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
	--track-fds=no --child-silent-after-fork=yes \
	--suppressions="$here/valgrind.supp" "$@"
