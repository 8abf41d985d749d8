// The per-thread layout of docs/PROTOCOL.md ("The thread page"): offsets,
// alignment, the header at the start of a page of its own.
#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <barrier>
#include <cstdint>
#include <set>
#include <thread>
#include <vector>

#include "unit_catch.hpp"

using tldtest::key_str;
using tldtest::make_key;

TEST_CASE("key offsets are the sums of the previous sizes rounded up to 8")
{
	REQUIRE(tld_set_dyn_data_size(512) == 0);
	const std::size_t sizes[] = {1, 8, 3, 16, 5};
	const int want[] = {0, 8, 16, 24, 40};
	tld_key_t keys[5];
	for (int i = 0; i < 5; ++i) {
		const std::string name = "layout.off." + std::to_string(i);
		keys[i] = make_key(name.c_str(), sizes[i]);
		INFO("key " << i << " of size " << sizes[i]);
		CHECK(keys[i].off == want[i]);
	}
	// tld_data() places each at data + off.
	auto *base = static_cast<char *>(tld_data(keys[0]));
	REQUIRE(base != nullptr);
	for (int i = 0; i < 5; ++i) {
		auto *p = static_cast<char *>(tld_data(keys[i]));
		INFO("key " << i);
		REQUIRE(p != nullptr);
		CHECK(p - base == want[i]);
	}
	// A key created after the block continues the sequence.
	tld_key_t late = make_key("layout.off.late", 2);
	CHECK(late.off == 48);
	CHECK(static_cast<char *>(tld_data(late)) - base == 48);
}

TEST_CASE("every pointer from tld_data is 8-byte aligned")
{
	REQUIRE(tld_set_dyn_data_size(2048) == 0);
	std::vector<tld_key_t> keys;
	for (std::size_t sz = 1; sz <= 40; sz += 3) {
		const std::string name = "layout.align." + std::to_string(sz);
		keys.push_back(make_key(name.c_str(), sz));
	}
	auto check_all = [&](const char *where) {
		for (tld_key_t k : keys) {
			void *p = tld_data(k);
			INFO(where << ": key " << key_str(k));
			REQUIRE(p != nullptr);
			CHECK(reinterpret_cast<std::uintptr_t>(p) % 8 == 0);
			CHECK(k.off % 8 == 0);
		}
	};
	check_all("main thread");
	// Keys created after the block are aligned too.
	for (std::size_t sz : {1, 7, 9, 13}) {
		const std::string name = "layout.align.late." + std::to_string(sz);
		keys.push_back(make_key(name.c_str(), sz));
	}
	check_all("main thread, late keys");
	bool ok = true;
	std::thread([&] {
		for (tld_key_t k : keys) {
			void *p = tld_data(k);
			ok = ok && p && reinterpret_cast<std::uintptr_t>(p) % 8 == 0;
		}
	}).join();
	CHECK(ok);
}

TEST_CASE("a thread block starts its page with start == 8 in the first word")
{
	REQUIRE(tld_set_dyn_data_size(256) == 0);
	tld_key_t a = make_key("layout.page.a", 8);
	tld_key_t b = make_key("layout.page.b", 24);
	auto check_block = [&](const char *where) {
		auto *pa = static_cast<char *>(tld_data(a));
		auto *pb = static_cast<char *>(tld_data(b));
		INFO(where);
		REQUIRE(pa != nullptr);
		REQUIRE(pb != nullptr);
		const std::uintptr_t page = reinterpret_cast<std::uintptr_t>(pa) - 8;
		CHECK(a.off == 0);
		CHECK(page % tldtest::page_size() == 0);
		CHECK(*reinterpret_cast<const std::uint64_t *>(page) == 8);
		// Writing the TLDs does not touch the header.
		std::fill(pa, pa + 8, '\xff');
		std::fill(pb, pb + 24, '\xff');
		CHECK(*reinterpret_cast<const std::uint64_t *>(page) == 8);
		CHECK(reinterpret_cast<std::uintptr_t>(pb) + 24 <= page + tldtest::page_size());
	};
	check_block("main thread");
	std::thread([&] { check_block("second thread"); }).join();
	// After tld_free(), the new block keeps the layout.
	tld_free();
	check_block("main thread after tld_free");
}

TEST_CASE("each thread holds its block in a page of its own")
{
	tld_key_t k = make_key("layout.own.page", 8);
	// The main thread holds its block throughout, the others until all took theirs.
	void *mine = tld_data(k);
	REQUIRE(mine != nullptr);
	constexpr int n = 16;
	std::vector<std::uintptr_t> pages(n);
	std::barrier all(n);
	std::vector<std::thread> ts;
	for (int i = 0; i < n; ++i)
		ts.emplace_back([&, i] {
			void *p = tld_data(k);
			pages[i] = p ? tldtest::block_page(p, k.off) : 1;
			// Keep every block alive until all threads took theirs.
			all.arrive_and_wait();
		});
	for (auto &t : ts)
		t.join();
	std::set<std::uintptr_t> distinct(pages.begin(), pages.end());
	distinct.insert(tldtest::block_page(mine, k.off));
	for (int i = 0; i < n; ++i) {
		INFO("thread " << i << " page " << std::hex << pages[i]);
		CHECK(pages[i] % tldtest::page_size() == 0);
	}
	CHECK(distinct.size() == n + 1);
}

TEST_CASE("a new thread's TLDs start zero-filled")
{
	REQUIRE(tld_set_dyn_data_size(1024) == 0);
	tld_key_t a = make_key("layout.zero.a", 100);
	tld_key_t b = make_key("layout.zero.b", 500);
	for (int round = 0; round < 4; ++round) {
		bool zero = false;
		std::thread([&] {
			auto *pa = static_cast<unsigned char *>(tld_data(a));
			auto *pb = static_cast<unsigned char *>(tld_data(b));
			if (!pa || !pb)
				return;
			zero = std::all_of(pa, pa + 100, [](unsigned char c) { return c == 0; }) &&
			       std::all_of(pb, pb + 500, [](unsigned char c) { return c == 0; });
			// Dirty it: the next thread may get the same page back.
			std::fill(pa, pa + 100, 0xee);
			std::fill(pb, pb + 500, 0xee);
		}).join();
		INFO("round " << round << " (after a previous thread dirtied its block and exited)");
		CHECK(zero);
	}
}
