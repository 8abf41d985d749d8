// Keys defined with TLD_DEFINE_KEY(): created before main() and sized into
// every thread block, on top of the dynamic reserve.
#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <thread>

#include "unit_common.hpp"

using tldtest::key_str;

TLD_DEFINE_KEY(def_big, "unit.defined.big", 1000);
TLD_DEFINE_KEY(def_small, "unit.defined.small", 3);

namespace {
constexpr std::size_t defined_bytes = 1000 + 8;	// both rounded to 8
}

TEST_CASE("keys defined with TLD_DEFINE_KEY exist before main and are sized into the block")
{
	INFO("def_big " << key_str(def_big) << ", def_small " << key_str(def_small)
			<< " (-EAGAIN would mean the constructor never ran)");
	REQUIRE_FALSE(tld_key_is_err(def_big));
	REQUIRE_FALSE(tld_key_is_err(def_small));
	// Constructor order between the two is not specified; the layout is the
	// slot order, each size rounded up to 8.
	const bool big_first = def_big.off < def_small.off;
	CHECK(std::min(def_big.off, def_small.off) == 0);
	CHECK(std::max(def_big.off, def_small.off) == (big_first ? 1000 : 8));
	CHECK(tld_find_key("unit.defined.big", 1000).off == def_big.off);
	CHECK(tld_find_key("unit.defined.small", 3).off == def_small.off);

	// Take the block, then create a dynamic key: it may use the whole 64-byte
	// default reserve, which only works if the 1008 defined bytes were added
	// to the block's size on top of the reserve.
	auto *big = static_cast<unsigned char *>(tld_data(def_big));
	REQUIRE(big != nullptr);
	tld_key_t dyn = tld_create_key("unit.dynamic.after", TLD_DYN_DATA_SIZE_DEFAULT);
	INFO("dynamic key of the full default reserve after the block: " << key_str(dyn));
	REQUIRE_FALSE(tld_key_is_err(dyn));
	CHECK(static_cast<std::size_t>(dyn.off) == defined_bytes);
	tld_key_t over = tld_create_key("unit.dynamic.over", 1);
	INFO("1 more byte after the reserve is full: " << key_str(over));
	CHECK(over.off == -E2BIG);

	// Every byte of every key is inside the thread's page.
	auto *d = static_cast<unsigned char *>(tld_data(dyn));
	auto *s = static_cast<unsigned char *>(tld_data(def_small));
	REQUIRE(d != nullptr);
	REQUIRE(s != nullptr);
	const std::uintptr_t page = tldtest::block_page(big, def_big.off);
	REQUIRE(page % tldtest::page_size() == 0);
	const std::uintptr_t end = page + tldtest::page_size();
	CHECK(reinterpret_cast<std::uintptr_t>(big) + 1000 <= end);
	CHECK(reinterpret_cast<std::uintptr_t>(d) + TLD_DYN_DATA_SIZE_DEFAULT <= end);
	std::fill(big, big + 1000, 0x11);
	std::fill(s, s + 3, 0x22);
	std::fill(d, d + TLD_DYN_DATA_SIZE_DEFAULT, 0x33);
	CHECK(std::all_of(big, big + 1000, [](unsigned char c) { return c == 0x11; }));
	CHECK(std::all_of(s, s + 3, [](unsigned char c) { return c == 0x22; }));

	// A second thread gets a block of the same layout, zero-filled.
	bool ok = false;
	std::thread([&] {
		auto *b2 = static_cast<unsigned char *>(tld_data(def_big));
		auto *d2 = static_cast<unsigned char *>(tld_data(dyn));
		ok = b2 && d2 && b2 != big &&
		     std::all_of(b2, b2 + 1000, [](unsigned char c) { return c == 0; }) &&
		     std::all_of(d2, d2 + 64, [](unsigned char c) { return c == 0; }) &&
		     d2 - b2 == dyn.off - def_big.off;
	}).join();
	CHECK(ok);
}

TEST_CASE("tld_set_dyn_data_size counts the defined keys and is -E2BIG when they would not fit")
{
	REQUIRE_FALSE(tld_key_is_err(def_big));
	const std::size_t cap = tldtest::data_capacity();
	const std::size_t max_reserve = cap - defined_bytes;
	errno = 0;
	int r = tld_set_dyn_data_size(max_reserve + 1);	// rounds to max_reserve + 8
	INFO("reserve " << max_reserve + 1 << " with " << defined_bytes
			<< " defined bytes in a " << cap << "-byte area: " << r);
	CHECK(r == -E2BIG);
	CHECK(errno == E2BIG);
	CHECK(tld_set_dyn_data_size(max_reserve) == 0);
	// That reserve is usable in full after the first block.
	REQUIRE(tld_data(def_small) != nullptr);
	tld_key_t all = tld_create_key("unit.dynamic.all", max_reserve);
	INFO("key of the whole reserve: " << key_str(all));
	REQUIRE_FALSE(tld_key_is_err(all));
	auto *p = static_cast<unsigned char *>(tld_data(all));
	REQUIRE(p != nullptr);
	p[max_reserve - 1] = 1;	// the page's last byte
	CHECK(reinterpret_cast<std::uintptr_t>(p) + max_reserve ==
	      tldtest::block_page(p, all.off) + tldtest::page_size());
}
