// The keys that test_cpp_link_def.cpp defines with TLD_KEY(), declared for
// every translation unit of the program.
#pragma once

#include <tld/tld.hpp>

#include <cstdint>

TLD_KEY_DECLARE(std::uint64_t, link_request_id);
