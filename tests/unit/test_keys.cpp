// Key creation: argument errors, size limits, the dynamic reserve and the
// 63-key limit.  Each TEST_CASE runs in a process of its own (meson.build),
// because keys and the reserve are per process and never go away.
#include <catch2/catch_test_macros.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>

#include "unit_common.hpp"

using tldtest::key_str;

namespace {

// Create a key and check that it failed with `err`, both in the key and in errno.
void require_create_fails(const char *name, std::size_t size, int err, const std::string &what)
{
	errno = 0;
	tld_key_t k = tld_create_key(name, size);
	INFO(what << ": tld_create_key returned " << key_str(k) << ", errno "
		  << tldtest::err_name(errno));
	REQUIRE(k.off == -err);
	CHECK(tld_key_is_err(k));
	CHECK(errno == err);
}

tld_key_t require_create(const char *name, std::size_t size, const std::string &what)
{
	tld_key_t k = tld_create_key(name, size);
	INFO(what << ": tld_create_key(\"" << name << "\", " << size << ") returned " << key_str(k));
	REQUIRE_FALSE(tld_key_is_err(k));
	REQUIRE(k.off % 8 == 0);
	return k;
}

// Take the calling thread's block without any key.  From then on every key
// must fit in the dynamic reserve, whether or not the library sizes keys
// created before the first block into the block (a promise tested on its own
// below), so the tests that count reserve bytes start here.
void take_block_first()
{
	int r = tld_thread_init();
	INFO("tld_thread_init() with no map registered returned " << r);
	REQUIRE(r == 0);
}

// Take the calling thread's block through `k`.
void take_block(tld_key_t k)
{
	void *p = tld_data(k);
	INFO("tld_data(" << key_str(k) << ") failed, errno " << tldtest::err_name(errno));
	REQUIRE(p != nullptr);
}

} // namespace

TEST_CASE("tld_create_key rejects a NULL name with -EINVAL")
{
	require_create_fails(nullptr, 8, EINVAL, "NULL name");
	// The failure published nothing: a valid key still starts at offset 0.
	tld_key_t k = require_create("after.null", 8, "first valid key");
	CHECK(k.off == 0);
}

TEST_CASE("tld_create_key rejects an empty name with -EINVAL")
{
	require_create_fails("", 8, EINVAL, "empty name");
	tld_key_t k = require_create("after.empty", 8, "first valid key");
	CHECK(k.off == 0);
	errno = 0;
	tld_key_t f = tld_find_key("", 8);
	INFO("tld_find_key(\"\") returned " << key_str(f));
	CHECK(f.off == -EINVAL);
}

TEST_CASE("tld_create_key rejects a 62-byte name with -EINVAL and accepts 61 bytes")
{
	const std::string n62(62, 'x');
	const std::string n61(61, 'x');
	const std::string n100(100, 'y');
	require_create_fails(n62.c_str(), 8, EINVAL, "62-byte name (TLD_NAME_MAX is 61)");
	require_create_fails(n100.c_str(), 8, EINVAL, "100-byte name");
	// Not truncated: no prefix of the long name was published.
	tld_key_t f = tld_find_key(n61.c_str(), 8);
	INFO("after the 62-byte name failed, tld_find_key(61 x) returned " << key_str(f));
	CHECK(f.off == -ENOENT);

	tld_key_t k = require_create(n61.c_str(), 8, "61-byte name");
	CHECK(k.off == 0);
	tld_key_t found = tld_find_key(n61.c_str(), 8);
	INFO("tld_find_key of the 61-byte name returned " << key_str(found));
	CHECK(found.off == k.off);
	// A 62-byte name that starts with the 61-byte one is a different, invalid name.
	require_create_fails(n62.c_str(), 8, EINVAL, "62-byte name after the 61-byte one exists");
}

TEST_CASE("tld_create_key rejects size 0 with -EINVAL")
{
	require_create_fails("zero.size", 0, EINVAL, "size 0");
	// The name was not taken by the failed call.
	tld_key_t k = require_create("zero.size", 8, "same name with size 8");
	CHECK(k.off == 0);
}

TEST_CASE("tld_create_key rejects a size larger than page minus 8 with -E2BIG")
{
	const std::size_t cap = tldtest::data_capacity();
	// Make the whole page available as reserve, so that only "can never fit" is tested.
	REQUIRE(tld_set_dyn_data_size(cap) == 0);
	take_block_first();
	require_create_fails("big.cap1", cap + 1, E2BIG, "page size - 8 + 1 bytes");
	require_create_fails("big.4089", 4089 > cap ? 4089 : cap + 1, E2BIG, "4089 bytes");
	require_create_fails("big.100000", 100000, E2BIG, "100000 bytes");
	// 65536 + 8 truncated to 16 bits would be 8: it must not be accepted as a small key.
	require_create_fails("big.65544", 65536 + 8, E2BIG, "65544 bytes (16-bit truncation)");
	require_create_fails("big.max", SIZE_MAX, E2BIG, "SIZE_MAX bytes");
	// Exactly the capacity fits when the reserve allows it.
	tld_key_t k = require_create("big.exact", cap, "page size - 8 bytes with the whole page reserved");
	CHECK(k.off == 0);
	auto *p = static_cast<unsigned char *>(tld_data(k));
	REQUIRE(p != nullptr);
	p[0] = 1;
	p[cap - 1] = 2;	// the last byte of the page
	CHECK(tldtest::block_page(p, 0) % tldtest::page_size() == 0);
}

TEST_CASE("tld_create_key refuses a published name with -EEXIST and sets errno")
{
	tld_key_t a = require_create("dup.name", 8, "first creation");
	require_create_fails("dup.name", 8, EEXIST, "same name and size again");
	require_create_fails("dup.name", 16, EEXIST, "same name with another size");
	// From another thread too: names are per process.
	int other = 0, other_errno = 0;
	std::thread([&] {
		errno = 0;
		other = tld_create_key("dup.name", 8).off;
		other_errno = errno;
	}).join();
	INFO("second thread got " << other << ", errno " << other_errno);
	CHECK(other == -EEXIST);
	CHECK(other_errno == EEXIST);
	// The original key is still the one found.
	CHECK(tld_find_key("dup.name", 8).off == a.off);
	// A name that differs only after a common prefix is a different name.
	tld_key_t b = require_create("dup.name2", 8, "longer name with the same prefix");
	tld_key_t c = require_create("dup.nam", 8, "shorter name with the same prefix");
	CHECK(b.off != a.off);
	CHECK(c.off != a.off);
	CHECK(c.off != b.off);
}

TEST_CASE("tld_key_is_err and tld_key_err_or_zero tell keys from errors")
{
	const tld_key_t zero{0}, eight{8}, big{4000};
	CHECK_FALSE(tld_key_is_err(zero));
	CHECK_FALSE(tld_key_is_err(eight));
	CHECK_FALSE(tld_key_is_err(big));
	CHECK(tld_key_err_or_zero(zero) == 0);
	CHECK(tld_key_err_or_zero(eight) == 0);
	CHECK(tld_key_err_or_zero(big) == 0);
	for (int e : {EINVAL, E2BIG, EEXIST, ENOSPC, ENOENT, ENOMEM, EAGAIN}) {
		tld_key_t k{static_cast<std::int16_t>(-e)};
		INFO("error key " << key_str(k));
		CHECK(tld_key_is_err(k));
		CHECK(tld_key_err_or_zero(k) == -e);
	}
	// And on what the library really returns.
	tld_key_t ok = require_create("err.ok", 4, "valid key");
	CHECK(tld_key_err_or_zero(ok) == 0);
	tld_key_t bad = tld_create_key("err.ok", 4);
	CHECK(tld_key_is_err(bad));
	CHECK(tld_key_err_or_zero(bad) == -EEXIST);
	tld_key_t inval = tld_create_key(nullptr, 4);
	CHECK(tld_key_err_or_zero(inval) == -EINVAL);
}

TEST_CASE("tld_find_key is -ENOENT before any key exists")
{
	errno = 0;
	tld_key_t f = tld_find_key("nothing.yet", 8);
	INFO("tld_find_key in a process without keys returned " << key_str(f));
	CHECK(f.off == -ENOENT);
	CHECK(errno == ENOENT);
}

TEST_CASE("a dynamic key past the 64-byte default reserve after the first block is -E2BIG and one that fits succeeds")
{
	static_assert(TLD_DYN_DATA_SIZE_DEFAULT == 64);
	take_block_first();
	tld_key_t first = require_create("dyn.first", 8, "first key (8 of the 64 reserved bytes)");
	take_block(first);
	// 8 bytes used: 57 (rounded to 64) cannot fit, 56 can.
	require_create_fails("dyn.too.big", 57, E2BIG, "57 bytes with 56 left in the reserve");
	tld_key_t fits = require_create("dyn.fits", 56, "56 bytes with 56 left in the reserve");
	CHECK(fits.off == 8);
	// The name of the failed key is still free, but the reserve is full now.
	require_create_fails("dyn.too.big", 1, E2BIG, "1 byte with the reserve full");
	// The key that fit is usable in this thread and in a new one (whose block
	// has the same size), all 56 bytes of it.
	auto *p = static_cast<unsigned char *>(tld_data(fits));
	REQUIRE(p != nullptr);
	for (int i = 0; i < 56; ++i)
		p[i] = 0xa5;
	bool ok_in_thread = false;
	std::thread([&] {
		auto *q = static_cast<unsigned char *>(tld_data(fits));
		if (!q)
			return;
		bool zero = true;
		for (int i = 0; i < 56; ++i)
			zero = zero && q[i] == 0;
		q[55] = 1;
		ok_in_thread = zero && tldtest::block_page(q, fits.off) % tldtest::page_size() == 0;
	}).join();
	CHECK(ok_in_thread);
}

TEST_CASE("the 64th key is refused with -ENOSPC")
{
	REQUIRE(tld_set_dyn_data_size(4000) == 0);
	take_block_first();
	static_assert(TLD_KEYS_MAX == 63);
	for (int i = 0; i < TLD_KEYS_MAX; ++i) {
		const std::string name = "slot." + std::to_string(i);
		tld_key_t k = require_create(name.c_str(), 8, "key " + std::to_string(i + 1) + " of 63");
		REQUIRE(k.off == 8 * i);
	}
	require_create_fails("slot.64", 8, ENOSPC, "64th key");
	require_create_fails("slot.65", 1, ENOSPC, "65th key");
	// The 63 keys work.
	for (int i = 0; i < TLD_KEYS_MAX; ++i) {
		tld_key_t k{static_cast<std::int16_t>(8 * i)};
		auto *p = static_cast<std::uint64_t *>(tld_data(k));
		INFO("tld_data of key " << i);
		REQUIRE(p != nullptr);
		*p = static_cast<std::uint64_t>(i);
	}
	CHECK(tld_find_key("slot.62", 8).off == 8 * 62);
	CHECK(tld_find_key("slot.64", 8).off == -ENOENT);
}

TEST_CASE("tld_set_dyn_data_size is -EBUSY after a thread took its block")
{
	REQUIRE(tld_set_dyn_data_size(128) == 0);
	REQUIRE(tld_set_dyn_data_size(256) == 0);	// may change until the first block
	// The block is taken by another thread: the layout is fixed for everyone.
	int took = -1;
	std::thread([&] { took = tld_thread_init(); }).join();
	REQUIRE(took == 0);
	tld_key_t k = require_create("busy.key", 8, "key");
	REQUIRE(k.off == 0);
	for (std::size_t sz : {std::size_t{0}, std::size_t{8}, std::size_t{256}, std::size_t{1024}}) {
		errno = 0;
		int r = tld_set_dyn_data_size(sz);
		INFO("tld_set_dyn_data_size(" << sz << ") after the first block returned " << r);
		CHECK(r == -EBUSY);
		CHECK(errno == EBUSY);
	}
	// The reserve set before the block (256) is in force: 248 more bytes fit.
	tld_key_t fill = require_create("busy.fill", 248, "248 bytes in a 256-byte reserve");
	CHECK(fill.off == 8);
	require_create_fails("busy.over", 1, E2BIG, "1 byte past the 256-byte reserve");
}

TEST_CASE("tld_set_dyn_data_size is -E2BIG when the reserve cannot fit a page")
{
	const std::size_t cap = tldtest::data_capacity();
	for (std::size_t sz : {cap + 1, std::size_t{4089} > cap ? std::size_t{4089} : cap + 1,
			       std::size_t{100000}, std::size_t{65536 + 8}, SIZE_MAX}) {
		errno = 0;
		int r = tld_set_dyn_data_size(sz);
		INFO("tld_set_dyn_data_size(" << sz << ") returned " << r);
		CHECK(r == -E2BIG);
		CHECK(errno == E2BIG);
	}
	// The largest reserve that fits is accepted, also when it rounds up to it.
	CHECK(tld_set_dyn_data_size(cap - 7) == 0);
	CHECK(tld_set_dyn_data_size(cap) == 0);
	// And it is in force: keys of the whole capacity can be created after the first block.
	take_block_first();
	tld_key_t small = require_create("e2big.first", 8, "first key");
	take_block(small);
	tld_key_t rest = require_create("e2big.rest", cap - 8, "rest of the page");
	CHECK(rest.off == 8);
}

TEST_CASE("tld_set_dyn_data_size rounds the reserve up to a multiple of 8")
{
	REQUIRE(tld_set_dyn_data_size(13) == 0);	// 16 bytes
	take_block_first();
	tld_key_t a = require_create("round.a", 9, "9 bytes (16 rounded) in a 16-byte reserve");
	take_block(a);
	require_create_fails("round.b", 1, E2BIG, "1 more byte in the full 16-byte reserve");
}

TEST_CASE("tld_create_key before the first block is sized into every block")
{
	// tld.h: "Keys created before any thread took its data block are added to
	// every block's size; keys created later must fit in the dynamic reserve."
	// docs/PROTOCOL.md ("Publication"): "A key created after the first block
	// exists must fit in the dynamic reserve, whichever call or macro created
	// it."
	tld_key_t early = tld_create_key("early.big", 100);
	INFO("tld_create_key(\"early.big\", 100) before any block, default 64-byte reserve: "
	     << key_str(early));
	REQUIRE_FALSE(tld_key_is_err(early));
	auto *p = static_cast<unsigned char *>(tld_data(early));
	REQUIRE(p != nullptr);
	p[99] = 1;
	// The 64-byte reserve is still there for keys created after the block.
	tld_key_t late = require_create("early.late", 64, "64 bytes after the block");
	CHECK(late.off == 104);
}

// Run only with TLD_DYN_DATA_SIZE=256 in the environment (meson.build).
TEST_CASE("TLD_DYN_DATA_SIZE in the environment sets the dynamic reserve", "[.env]")
{
	const char *env = std::getenv("TLD_DYN_DATA_SIZE");
	REQUIRE(env != nullptr);
	REQUIRE(std::string(env) == "256");
	take_block_first();
	tld_key_t a = require_create("env.a", 8, "first key");
	take_block(a);
	// 200 bytes cannot fit the default 64-byte reserve; they fit 256.
	tld_key_t b = require_create("env.b", 200, "200 bytes with TLD_DYN_DATA_SIZE=256");
	CHECK(b.off == 8);
	require_create_fails("env.c", 49, E2BIG, "49 bytes with 48 left of 256");
	tld_key_t c = require_create("env.d", 48, "48 bytes with 48 left of 256");
	CHECK(c.off == 208);
}
