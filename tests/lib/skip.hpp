// What a test does when it cannot run on this machine, for every suite:
// it is skipped (exit 77), unless CI is set in the environment to anything
// but "", "false" or "0": there it fails, so that CI never passes a test it
// did not run.  tests/lib/cannot.sh says the same for shell scripts.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace tldtest {

inline bool in_ci()
{
	const char *ci = std::getenv("CI");
	return ci && *ci && std::strcmp(ci, "false") != 0 && std::strcmp(ci, "0") != 0;
}

// Says why on stderr, then exits 77, or 1 under CI.
[[noreturn]] inline void skip_or_fail(const std::string &why)
{
	const bool ci = in_ci();
	std::fprintf(stderr, "%s (%s)\n", why.c_str(), ci ? "CI is set: failing" : "skipping");
	std::fflush(nullptr);
	_exit(ci ? 1 : 77);
}

} // namespace tldtest
