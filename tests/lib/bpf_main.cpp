// main() of every suite whose test cases need BPF: skip (77) when the kernel
// or the privileges are missing, fail when CI is set (tests/lib/bpftest.hpp).
// Listing the test cases needs neither.
#include <catch2/catch_session.hpp>

#include <cstring>

#include "bpftest.hpp"

int main(int argc, char **argv)
{
	bool listing = false;
	for (int i = 1; i < argc; ++i)
		if (std::strncmp(argv[i], "--list", 6) == 0)
			listing = true;
	if (!listing)
		tldtest::require_bpf();
	return Catch::Session().run(argc, argv);
}
