// Typed keys used from other translation units than the one that defines
// them (test_cpp_link_def.cpp, linked after this file): through an extern
// declaration in a shared header, and before their own initializers ran.
// Built with -Wall -Wextra -Werror -pedantic.
#include <catch2/catch_test_macros.hpp>

#include <cerrno>
#include <cstdint>
#include <thread>

#include "cpp_link.hpp"

extern const ::tld::key<std::uint64_t> link_early;

// Created by this file's constructor, which runs before those of
// test_cpp_link_def.cpp: the first TLD, at offset 0, where a key that is
// still zero would point.
TLD_DEFINE_KEY(link_first, "cpp.link.first", 8);

namespace {

// What a constructor of priority 101 in this file saw of link_early, before
// the definition's own constructor created its TLD.
struct probe_result {
	int raw = 1;
	int found = 1;		// tld_find_key("cpp.link.early") at that time
	bool got_pointer = true;
	int get_errno = 0;
} g_probe;

__attribute__((constructor(101))) void probe_before_definition()
{
	g_probe.raw = link_early.raw().off;
	g_probe.found = tld_find_key("cpp.link.early", 8).off;
	errno = 0;
	g_probe.got_pointer = link_early.get() != nullptr;
	g_probe.get_errno = errno;
}

// A static initializer of this file, which runs before those of
// test_cpp_link_def.cpp, writes through link_early.
struct early_writer {
	int raw;
	bool wrote;
	early_writer() : raw(link_early.raw().off), wrote(false)
	{
		if (std::uint64_t *p = link_early.get()) {
			*p = 0xea51;
			wrote = true;
		}
	}
} g_early;

} // namespace

TEST_CASE("a typed key defined in another translation unit links through an extern declaration and works there")
{
	REQUIRE(link_request_id);
	const tld_key_t found = tld_find_key("cpp.link.request_id", sizeof(std::uint64_t));
	CHECK(link_request_id.raw().off == found.off);
	std::uint64_t *p = link_request_id.get();
	REQUIRE(p != nullptr);
	*p = 42;
	std::uint64_t other = 1;
	std::thread([&] { other = *link_request_id.get(); }).join();
	CHECK(*link_request_id.get() == 42);
	CHECK(other == 0);
}

TEST_CASE("a typed key read before its own initializer ran is EAGAIN in a constructor and its own TLD in a later static initializer")
{
	// The probe ran before the definition's constructor (the link order
	// says so; if it did not, this test proves nothing and says so).
	INFO("tld_find_key(\"cpp.link.early\") in the probe: " << g_probe.found);
	REQUIRE(g_probe.found == -ENOENT);
	CHECK(g_probe.raw == -EAGAIN);
	CHECK_FALSE(g_probe.got_pointer);
	CHECK(g_probe.get_errno == EAGAIN);

	// The static initializer ran before the definition's, and still wrote
	// into its own TLD, not into the first one.
	const int early = tld_find_key("cpp.link.early", 8).off;
	REQUIRE(early >= 0);
	REQUIRE(link_first.off == 0);
	CHECK(g_early.raw == early);
	CHECK(g_early.wrote);
	CHECK(*link_early.get() == 0xea51);
	CHECK(*static_cast<std::uint64_t *>(tld_data(link_first)) == 0);
}
