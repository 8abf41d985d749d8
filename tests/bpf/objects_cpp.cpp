// Library C++ of test_objects.cpp: `same_key` for "objects.lib_cpp" and a
// typed `same_typed_key` for "objects.lib_cpp.typed", at global scope with
// default visibility, as the program defines them too.
#include <tld/tld.hpp>

#include <cerrno>
#include <cstdint>

#include "objects.h"

TLD_DEFINE_KEY(same_key, "objects.lib_cpp", 8);
TLD_KEY(std::uint64_t, same_typed_key, "objects.lib_cpp.typed");

extern "C" tld_key_t objects_cpp_key(void)
{
	return same_key;
}

extern "C" tld_key_t objects_cpp_typed_key(void)
{
	return same_typed_key.raw();
}

extern "C" int objects_cpp_set(std::uint64_t v, std::uint64_t typed)
{
	auto *p = static_cast<std::uint64_t *>(tld_data(same_key));
	std::uint64_t *t = same_typed_key.get();
	if (!p || !t)
		return -errno;
	*p = v;
	*t = typed;
	return 0;
}
