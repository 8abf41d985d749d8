// tld_data(): per-thread isolation, tld_free(), and the errors it reports.
#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <barrier>
#include <cerrno>
#include <cstdint>
#include <set>
#include <thread>
#include <vector>

#include "unit_catch.hpp"

using tldtest::key_str;
using tldtest::make_key;

namespace {

// tld_data(k) must fail with `err`.
void require_data_fails(tld_key_t k, int err, const char *where)
{
	errno = 0;
	void *p = tld_data(k);
	const int e = errno;
	INFO(where << ": tld_data(" << key_str(k) << ") returned " << p << ", errno "
		   << tldtest::err_name(e) << ", expected NULL with " << tldtest::err_name(err));
	CHECK(p == nullptr);
	CHECK(e == err);
}

} // namespace

TEST_CASE("each thread reads back its own value through tld_data")
{
	tld_key_t v = make_key("data.value", 8);
	tld_key_t tag = make_key("data.tag", 24);
	constexpr int n = 32;
	std::barrier written(n + 1), checked(n + 1);
	std::vector<int> bad(n, -1);
	std::vector<std::uintptr_t> where(n);
	std::vector<std::thread> ts;
	for (int i = 0; i < n; ++i)
		ts.emplace_back([&, i] {
			auto *pv = static_cast<std::uint64_t *>(tld_data(v));
			auto *pt = static_cast<unsigned char *>(tld_data(tag));
			if (pv && pt) {
				*pv = 0x1000 + i;
				std::fill(pt, pt + 24, static_cast<unsigned char>(i));
				where[i] = reinterpret_cast<std::uintptr_t>(pv);
			}
			written.arrive_and_wait();	// everyone wrote
			int errors = !pv || !pt;
			if (pv && pt) {
				errors += tld_data(v) != pv;
				errors += *pv != static_cast<std::uint64_t>(0x1000 + i);
				errors += !std::all_of(pt, pt + 24, [&](unsigned char c) { return c == i; });
			}
			bad[i] = errors;
			checked.arrive_and_wait();	// keep every block alive until all checked
		});
	// The main thread joins in: its own value is also its own.
	auto *mine = static_cast<std::uint64_t *>(tld_data(v));
	REQUIRE(mine != nullptr);
	*mine = 0xdead;
	written.arrive_and_wait();
	checked.arrive_and_wait();
	for (auto &t : ts)
		t.join();
	for (int i = 0; i < n; ++i) {
		INFO("thread " << i << " saw " << bad[i] << " wrong values (-1: never checked)");
		CHECK(bad[i] == 0);
	}
	CHECK(*mine == 0xdead);
	std::set<std::uintptr_t> distinct(where.begin(), where.end());
	distinct.insert(reinterpret_cast<std::uintptr_t>(mine));
	CHECK(distinct.size() == n + 1);
}

TEST_CASE("after tld_free the next tld_data gives a zero-filled block")
{
	REQUIRE(tld_set_dyn_data_size(512) == 0);
	tld_key_t a = make_key("free.a", 8);
	tld_key_t b = make_key("free.b", 300);
	auto *pa = static_cast<std::uint64_t *>(tld_data(a));
	auto *pb = static_cast<unsigned char *>(tld_data(b));
	REQUIRE(pa != nullptr);
	REQUIRE(pb != nullptr);
	*pa = 0x123456789abcdefULL;
	std::fill(pb, pb + 300, 0x5a);
	tld_free();
	auto *qa = static_cast<std::uint64_t *>(tld_data(a));
	auto *qb = static_cast<unsigned char *>(tld_data(b));
	REQUIRE(qa != nullptr);
	REQUIRE(qb != nullptr);
	INFO("value after tld_free: " << std::hex << *qa);
	CHECK(*qa == 0);
	CHECK(std::all_of(qb, qb + 300, [](unsigned char c) { return c == 0; }));
	CHECK(*reinterpret_cast<const std::uint64_t *>(tldtest::block_page(qa, a.off)) == 8);
	// The fresh block works like the first.
	*qa = 7;
	CHECK(*static_cast<std::uint64_t *>(tld_data(a)) == 7);

	// The same in a second thread, repeatedly.
	bool ok = true;
	std::thread([&] {
		for (int i = 0; i < 10; ++i) {
			auto *p = static_cast<std::uint64_t *>(tld_data(a));
			ok = ok && p && *p == 0;
			if (p)
				*p = 99;
			tld_free();
		}
	}).join();
	CHECK(ok);
}

TEST_CASE("tld_free without a block does nothing")
{
	tld_key_t k = make_key("free.noblock", 8);
	tld_free();	// main thread: no block yet
	tld_free();
	auto *p = static_cast<std::uint64_t *>(tld_data(k));
	REQUIRE(p != nullptr);
	CHECK(*p == 0);
	*p = 5;
	tld_free();
	tld_free();	// the second call has no block to free
	bool ok = false;
	std::thread([&] {
		tld_free();	// a thread that never had a block
		auto *q = static_cast<std::uint64_t *>(tld_data(k));
		ok = q && *q == 0;
	}).join();
	CHECK(ok);
	auto *again = static_cast<std::uint64_t *>(tld_data(k));
	REQUIRE(again != nullptr);
	CHECK(*again == 0);
}

TEST_CASE("a block given back at thread exit comes back zero-filled")
{
	tld_key_t k = make_key("exit.reuse", 64);
	for (int i = 0; i < 8; ++i) {
		bool zero = false;
		std::thread([&] {
			auto *p = static_cast<unsigned char *>(tld_data(k));
			if (!p)
				return;
			zero = std::all_of(p, p + 64, [](unsigned char c) { return c == 0; });
			std::fill(p, p + 64, 0x77);
		}).join();
		INFO("thread " << i);
		CHECK(zero);
	}
}

TEST_CASE("tld_data with an error key returns NULL with errno set to the key's error")
{
	const int errs[] = {EINVAL, E2BIG, EEXIST, ENOSPC, ENOENT, EAGAIN};
	// Before the thread has a block...
	for (int e : errs)
		require_data_fails(tld_key_t{static_cast<std::int16_t>(-e)}, e, "no block yet");
	// ...and a key the library really returned as an error.
	tld_key_t ok = make_key("errkey.ok", 8);
	tld_key_t dup = tld_create_key("errkey.ok", 8);
	REQUIRE(dup.off == -EEXIST);
	require_data_fails(dup, EEXIST, "no block yet, -EEXIST from tld_create_key");
	// After the thread took its block (the fast path).
	REQUIRE(tld_data(ok) != nullptr);
	for (int e : errs)
		require_data_fails(tld_key_t{static_cast<std::int16_t>(-e)}, e, "with a block");
	require_data_fails(dup, EEXIST, "with a block, -EEXIST from tld_create_key");
	// The thread's block is unharmed.
	CHECK(tld_data(ok) != nullptr);
}

TEST_CASE("tld_data with a key never created returns NULL with errno EINVAL")
{
	tld_key_t a = make_key("never.a", 16);	// covers offsets 0..15
	REQUIRE(a.off == 0);
	const std::int16_t offs[] = {4000, 1, 3, 7, 8, 16, 24, 4080, 4088, INT16_MAX};
	for (std::int16_t off : offs)
		require_data_fails(tld_key_t{off}, EINVAL, "no block yet");
	REQUIRE(tld_data(a) != nullptr);
	for (std::int16_t off : offs)
		require_data_fails(tld_key_t{off}, EINVAL, "with a block");
	// Once a key at 16 is created, offset 16 becomes valid, 8 stays invalid.
	tld_key_t b = make_key("never.b", 8);
	REQUIRE(b.off == 16);
	CHECK(tld_data(tld_key_t{16}) != nullptr);
	require_data_fails(tld_key_t{8}, EINVAL, "inside key a");
}
