// Helpers of the unit tests that assert with Catch2.
#pragma once

#include <catch2/catch_test_macros.hpp>

#include "unit_common.hpp"

namespace tldtest {

// tld_create_key(name, size), which must succeed.
inline tld_key_t make_key(const char *name, std::size_t size)
{
	tld_key_t k = tld_create_key(name, size);
	INFO("tld_create_key(\"" << name << "\", " << size << ") returned " << key_str(k));
	REQUIRE_FALSE(tld_key_is_err(k));
	return k;
}

} // namespace tldtest
