// The translation unit that defines the typed keys of test_cpp_link_use.cpp
// with TLD_KEY().  It is linked after that one, so that its static
// initializers and constructors run later.
#include "cpp_link.hpp"

// Declared in cpp_link.hpp, which this file includes.
TLD_KEY(std::uint64_t, link_request_id, "cpp.link.request_id");
// Declared only in test_cpp_link_use.cpp: its linkage comes from TLD_KEY()
// alone.
TLD_KEY(std::uint64_t, link_early, "cpp.link.early");
