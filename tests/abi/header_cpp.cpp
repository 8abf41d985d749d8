// <tld/tld.h> builds as strict C++20 (-std=c++20 -pedantic -Wall -Wextra
// -Werror) and works: a defined and a created key, written and read back.
#include <tld/tld.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <thread>

TLD_DEFINE_KEY(abi_cpp_defined, "abi.cpp.defined", 8);

int main()
{
	const tld_key_t k = tld_create_key("abi.cpp.created", 16);
	if (tld_key_is_err(k) || tld_key_err_or_zero(k) != 0) {
		std::fprintf(stderr, "tld_create_key failed: %d\n", k.off);
		return 1;
	}
	if (tld_key_is_err(abi_cpp_defined)) {
		std::fprintf(stderr, "TLD_DEFINE_KEY key holds %d\n", abi_cpp_defined.off);
		return 1;
	}
	auto *p = static_cast<std::uint64_t *>(tld_data(k));
	auto *d = static_cast<std::uint64_t *>(tld_data(abi_cpp_defined));
	if (!p || !d) {
		std::fprintf(stderr, "tld_data failed: errno %d\n", errno);
		return 1;
	}
	p[0] = 40;
	p[1] = 2;
	*d = 1;
	std::uint64_t other = 1;
	std::thread([&] {
		auto *q = static_cast<std::uint64_t *>(tld_data(k));
		other = q ? q[0] : 99;
	}).join();
	if (p[0] + p[1] != 42 || *d != 1 || other != 0) {
		std::fprintf(stderr, "values did not stick or leaked across threads\n");
		return 1;
	}
	if (tld_create_key("abi.cpp.created", 16).off != -EEXIST) {
		std::fprintf(stderr, "duplicate name was not -EEXIST\n");
		return 1;
	}
	return 0;
}
