// The C++ layer, <tld/tld.hpp>.  Built with -Wall -Wextra -Werror -pedantic
// (see meson.build): including the header is itself one of the checks.
#include <tld/tld.hpp>

#include <catch2/catch_test_macros.hpp>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

struct hint {
	std::uint32_t prio;
	std::uint8_t in_cs;
};

// Trivially copyable, but neither default-constructible nor assignable.
struct no_default {
	explicit no_default(std::uint32_t x) : v(x) {}
	std::uint32_t v;
};
static_assert(!std::is_default_constructible_v<no_default>);

TLD_KEY(std::uint64_t, request_id, "cpp.request_id");
TLD_KEY(hint, hints, "cpp.hints");
TLD_KEY(no_default, no_default_key, "cpp.no_default");

// No C entry point can throw, so no exception can unwind through the C
// library: a throw inside it would terminate instead.
static_assert(noexcept(tld_create_key("x", 1)));
static_assert(noexcept(tld_find_key("x", 1)));
static_assert(noexcept(tld_data(tld_key_t{0})));
static_assert(noexcept(tld_get_data(-1, tld_key_t{0})));
static_assert(noexcept(tld_free()));
static_assert(noexcept(tld_thread_init()));
static_assert(noexcept(tld_map_register(-1)));
static_assert(noexcept(tld_map_unregister(-1)));
static_assert(noexcept(tld_map_open("")));
static_assert(noexcept(tld_set_dyn_data_size(0)));
// The hot path of the C++ layer does not throw either.
static_assert(noexcept(request_id.get()));
static_assert(noexcept(request_id.get(-1)));
static_assert(noexcept(tld::scoped<std::uint64_t>(request_id, 1)));
static_assert(!std::is_copy_constructible_v<tld::map>);
static_assert(std::is_nothrow_move_constructible_v<tld::map>);
static_assert(std::is_nothrow_move_assignable_v<tld::map>);
static_assert(!std::is_copy_constructible_v<tld::scoped<int>>);
static_assert(noexcept(request_id.set(1)));
static_assert(noexcept(tld::thread_init()));
static_assert(noexcept(tld::free_thread()));
static_assert(noexcept(tld::set_dyn_data_size(0)));
static_assert(std::is_nothrow_default_constructible_v<tld::map>);

} // namespace

TEST_CASE("TLD_KEY defines typed keys before main and get returns the thread's value")
{
	REQUIRE(request_id);
	REQUIRE(hints);
	std::uint64_t *id = request_id.get();
	hint *h = hints.get();
	REQUIRE(id != nullptr);
	REQUIRE(h != nullptr);
	CHECK(reinterpret_cast<std::uintptr_t>(id) % 8 == 0);
	*id = 42;
	h->prio = 7;
	std::uint64_t other = 1;
	std::thread([&] { other = *request_id.get(); }).join();
	CHECK(*request_id.get() == 42);
	CHECK(other == 0);	// each thread has its own
	// The same TLD through the C API, by name.
	tld_key_t c = tld_find_key("cpp.request_id", sizeof(std::uint64_t));
	REQUIRE(c.off == request_id.raw().off);
}

TEST_CASE("a typed key throws tld_error carrying the errno when creation fails")
{
	tld::key<int> k("cpp.dup");
	try {
		tld::key<int> again("cpp.dup");
		FAIL("a duplicate name was accepted");
	} catch (const tld::error &e) {
		CHECK(e.code() == std::errc::file_exists);
	}
	try {
		tld::key<int> bad("");
		FAIL("an empty name was accepted");
	} catch (const tld::error &e) {
		CHECK(e.code().value() == EINVAL);
		CHECK(e.code().category() == std::generic_category());
	}
	// tld::error is a std::system_error.
	CHECK_THROWS_AS(tld::key<int>("cpp.dup"), std::system_error);
}

TEST_CASE("a typed key adopted by name shares a key by name and checks the size")
{
	tld::key<std::uint32_t> made("cpp.shared");
	auto adopted = tld::key<std::uint32_t>::adopt("cpp.shared");
	CHECK(adopted.get() == made.get());
	try {
		(void)tld::key<std::uint64_t>::adopt("cpp.shared");
		FAIL("a size mismatch was accepted");
	} catch (const tld::error &e) {
		CHECK(e.code().value() == EINVAL);
	}
	try {
		(void)tld::key<std::uint32_t>::adopt("cpp.nobody");
		FAIL("an unknown name was found");
	} catch (const tld::error &e) {
		CHECK(e.code().value() == ENOENT);
	}
}

TEST_CASE("a key that failed makes get return nullptr with errno and never throws")
{
	auto k = tld::key<int>::wrap(tld_create_key("", sizeof(int)));
	CHECK_FALSE(k);
	CHECK(k.error_code() == EINVAL);
	errno = 0;
	CHECK(k.get() == nullptr);
	CHECK(errno == EINVAL);
	tld::scoped<int> s(k, 5);
	CHECK_FALSE(s.active());
}

TEST_CASE("a scoped value sets the TLD and restores the previous one when scopes nest")
{
	*request_id.get() = 1;
	{
		tld::scoped<std::uint64_t> outer(request_id, 2);
		CHECK(outer.active());
		CHECK(*request_id.get() == 2);
		{
			tld::scoped<std::uint64_t> inner(request_id, 3);
			CHECK(*request_id.get() == 3);
			CHECK(inner.previous() == 2);
		}
		CHECK(*request_id.get() == 2);
	}
	CHECK(*request_id.get() == 1);
}

TEST_CASE("a scoped value restores the TLD when an exception leaves the scope")
{
	*request_id.get() = 10;
	try {
		tld::scoped<std::uint64_t> a(request_id, 20);
		tld::scoped<std::uint64_t> b(request_id, 30);
		throw std::runtime_error("unwind");
	} catch (const std::runtime_error &) {
	}
	CHECK(*request_id.get() == 10);
	hints.get()->prio = 1;
	try {
		tld::scoped<hint> h(hints, hint{99, 1});
		CHECK(hints.get()->prio == 99);
		throw 5;
	} catch (int) {
	}
	CHECK(hints.get()->prio == 1);
	CHECK(hints.get()->in_cs == 0);
}

TEST_CASE("a map object reports a bad descriptor or path as tld_error")
{
	try {
		tld::map m(-1);
		FAIL("fd -1 registered");
	} catch (const tld::error &e) {
		CHECK(e.code().value() == EBADF);
	}
	try {
		auto m = tld::map::open("/nonexistent/tld-map");
		FAIL("a missing pin opened");
	} catch (const tld::error &e) {
		CHECK(e.code().value() == ENOENT);
	}
}

TEST_CASE("a scoped value restored after tld_free never writes into the page another thread took")
{
	std::uint64_t *const mine = request_id.get();
	REQUIRE(mine != nullptr);
	*mine = 1;
	std::atomic<int> step{0};
	std::uint64_t *theirs = nullptr;
	std::uint64_t theirs_after = 0;
	std::thread other;
	{
		tld::scoped<std::uint64_t> s(request_id, 2);
		REQUIRE(s.active());
		tld_free();	// the page goes back to the pool
		other = std::thread([&] {
			theirs = request_id.get();	// takes the page just freed
			if (theirs)
				*theirs = 0x07e4;
			step = 1;
			while (step.load() != 2)
				std::this_thread::yield();
			if (theirs)
				theirs_after = *theirs;
		});
		while (step.load() != 1)
			std::this_thread::yield();
	}	// the scope ends: the previous value is restored
	step = 2;
	other.join();
	INFO("this thread's TLD was at " << mine << ", the other thread's is at " << theirs);
	REQUIRE(theirs == mine);	// the other thread took the freed page
	CHECK(theirs_after == 0x07e4);
	// The value went into this thread's own (new) block.
	std::uint64_t *now = request_id.get();
	REQUIRE(now != nullptr);
	CHECK(now != mine);
	CHECK(*now == 1);
}

TEST_CASE("a scoped value of a type without a default constructor sets and restores it")
{
	no_default *p = no_default_key.get();
	REQUIRE(p != nullptr);
	*p = no_default(5);
	{
		tld::scoped<no_default> s(no_default_key, no_default(9));
		CHECK(s.active());
		CHECK(no_default_key.get()->v == 9);
		CHECK(s.previous().v == 5);
	}
	CHECK(no_default_key.get()->v == 5);
	// A key that failed: the scope is inactive and previous() is the value.
	auto bad = tld::key<no_default>::wrap(tld_key_t{-EINVAL});
	tld::scoped<no_default> s(bad, no_default(3));
	CHECK_FALSE(s.active());
	CHECK(s.previous().v == 3);
}

TEST_CASE("tld thread_init free_thread and set_dyn_data_size report what the C functions report")
{
	CHECK(tld::set_dyn_data_size(128) == 0);
	CHECK(tld::thread_init() == 0);	// no map registered: nothing can fail
	errno = 0;
	CHECK(tld::set_dyn_data_size(64) == -EBUSY);	// the layout is fixed now
	CHECK(errno == EBUSY);
	// The 128-byte reserve is in force: a 120-byte key fits after cpp.*.
	CHECK(tld_create_key("cpp.reserve", 120).off >= 0);
	REQUIRE(request_id.set(5) == 0);
	tld::free_thread();
	CHECK(*request_id.get() == 0);	// a fresh block
	CHECK(tld::thread_init() == 0);
}

// Run with TLD_MAP set to a path that does not exist (meson.build).
TEST_CASE("tld thread_init returns the error of registering TLD_MAP and the TLDs still work", "[.env]")
{
	const char *env = std::getenv("TLD_MAP");
	REQUIRE(env != nullptr);
	errno = 0;
	CHECK(tld::thread_init() == -ENOENT);
	CHECK(errno == ENOENT);
	REQUIRE(request_id.set(9) == 0);
	CHECK(*request_id.get() == 9);
	CHECK(tld::thread_init() == -ENOENT);	// retried, fails again
}

TEST_CASE("a key's set stores the calling thread's value and returns the error of a failed key")
{
	REQUIRE(request_id.set(7) == 0);
	CHECK(*request_id.get() == 7);
	int other = -1;
	std::uint64_t other_value = 1;
	std::thread([&] {
		other = request_id.set(8);
		other_value = *request_id.get();
	}).join();
	CHECK(other == 0);
	CHECK(other_value == 8);
	CHECK(*request_id.get() == 7);
	REQUIRE(hints.set(hint{3, 1}) == 0);
	CHECK(hints.get()->prio == 3);
	CHECK(hints.get()->in_cs == 1);
	REQUIRE(no_default_key.set(no_default(11)) == 0);
	CHECK(no_default_key.get()->v == 11);

	auto bad = tld::key<std::uint64_t>::wrap(tld_key_t{-E2BIG});
	errno = 0;
	CHECK(bad.set(1) == -E2BIG);
	CHECK(errno == E2BIG);
}

TEST_CASE("a default-constructed map object is empty and registers nothing")
{
	tld::map m;
	CHECK(m.empty());
	CHECK_FALSE(m);
	CHECK(m.fd() == -1);
	tld::map other;
	other = std::move(m);	// moving an empty object keeps both empty
	CHECK(other.empty());
	CHECK(m.empty());
	// A failed open leaves the target of an assignment as it was.
	try {
		other = tld::map::open("/nonexistent/tld-map");
		FAIL("a missing pin opened");
	} catch (const tld::error &) {
	}
	CHECK(other.empty());
}

TEST_CASE("tld error names the call and the name or path that failed")
{
	auto what_of = [](auto &&fn) -> std::string {
		try {
			fn();
		} catch (const tld::error &e) {
			return e.what();
		}
		return "(nothing thrown)";
	};
	tld::key<std::uint32_t> made("cpp.named");
	const std::string dup = what_of([] { tld::key<std::uint32_t> k("cpp.named"); });
	const std::string null = what_of([] { tld::key<std::uint64_t> k(nullptr); });
	const std::string missing =
		what_of([] { (void)tld::key<std::uint16_t>::adopt("cpp.nobody"); });
	const std::string path = what_of([] { (void)tld::map::open("/nonexistent/tld-map"); });
	const std::string fd = what_of([] { tld::map m(-1); });
	INFO("what():\n" << dup << "\n" << null << "\n" << missing << "\n" << path << "\n" << fd);
	CHECK(dup.find("tld_create_key(\"cpp.named\", 4)") != std::string::npos);
	CHECK(dup.find(std::generic_category().message(EEXIST)) != std::string::npos);
	CHECK(null.find("tld_create_key(NULL, 8)") != std::string::npos);
	CHECK(missing.find("tld_find_key(\"cpp.nobody\", 2)") != std::string::npos);
	CHECK(path.find("tld_map_open(\"/nonexistent/tld-map\")") != std::string::npos);
	CHECK(path.find(std::generic_category().message(ENOENT)) != std::string::npos);
	CHECK(fd.find("tld_map_register(fd -1)") != std::string::npos);
}
