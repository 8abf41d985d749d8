// Two libraries share one TLD by name: library A defines it with
// TLD_DEFINE_KEY(), library B finds it with tld_find_key().  Both are linked
// into this test; neither sees the other's symbols.
#include <catch2/catch_test_macros.hpp>

#include <barrier>
#include <cerrno>
#include <cstdint>
#include <string>
#include <thread>

#include "unit_common.hpp"

using tldtest::key_str;

extern "C" {
void *tldtest_lib_a_counter(void);
tld_key_t tldtest_lib_a_key(void);
void *tldtest_lib_b_counter(void);
tld_key_t tldtest_lib_b_key(void);
}

TEST_CASE("a TLD defined in one library and found by name in another is the same storage in a thread and different across threads")
{
	const tld_key_t ka = tldtest_lib_a_key();
	const tld_key_t kb = tldtest_lib_b_key();
	INFO("library A's key " << key_str(ka) << ", library B's lookup " << key_str(kb));
	REQUIRE_FALSE(tld_key_is_err(ka));
	REQUIRE(kb.off == ka.off);

	auto *a = static_cast<std::uint64_t *>(tldtest_lib_a_counter());
	auto *b = static_cast<std::uint64_t *>(tldtest_lib_b_counter());
	REQUIRE(a != nullptr);
	REQUIRE(b != nullptr);
	CHECK(a == b);
	*a = 41;
	++*b;
	CHECK(*a == 42);

	std::barrier both(2);
	std::uint64_t *ta = nullptr, *tb = nullptr;
	std::uint64_t seen = 1;
	std::thread t([&] {
		ta = static_cast<std::uint64_t *>(tldtest_lib_a_counter());
		tb = static_cast<std::uint64_t *>(tldtest_lib_b_counter());
		if (ta && tb) {
			seen = *tb;	// a fresh thread's counter starts at 0
			*ta = 7;
		}
		both.arrive_and_wait();	// keep the block while the main thread looks
	});
	both.arrive_and_wait();
	t.join();
	REQUIRE(ta != nullptr);
	REQUIRE(tb != nullptr);
	CHECK(ta == tb);
	CHECK(ta != a);
	CHECK(seen == 0);
	CHECK(*a == 42);	// the other thread's write did not reach this thread's copy
}

TEST_CASE("tld_find_key with the wrong size is -EINVAL and an unknown name is -ENOENT")
{
	REQUIRE_FALSE(tld_key_is_err(tldtest_lib_a_key()));
	struct probe {
		const char *name;
		std::size_t size;
		int err;
	};
	const std::string n62(62, 's');
	const probe probes[] = {
		{"shared.counter", 4, EINVAL},
		{"shared.counter", 16, EINVAL},
		{"shared.counter", 7, EINVAL},
		{"shared.counter", 0, EINVAL},
		{"shared.counte", 8, ENOENT},
		{"shared.counter2", 8, ENOENT},
		{"no.such.name", 8, ENOENT},
		{nullptr, 8, EINVAL},
		{"", 8, EINVAL},
		{n62.c_str(), 8, EINVAL},
	};
	for (const probe &p : probes) {
		errno = 0;
		tld_key_t k = tld_find_key(p.name, p.size);
		const int e = errno;
		INFO("tld_find_key(" << (p.name ? p.name : "NULL") << ", " << p.size << ") returned "
				     << key_str(k) << ", errno " << tldtest::err_name(e));
		CHECK(k.off == -p.err);
		CHECK(e == p.err);
	}
	// The right size still finds it.
	CHECK(tld_find_key("shared.counter", 8).off == tldtest_lib_a_key().off);
}
