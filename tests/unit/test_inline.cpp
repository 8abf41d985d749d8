// The inline tld_data() of <tld/tld.h>: it reads the library's own state of
// the calling thread, so it must never hand out a page the thread no longer
// owns, must refuse what the library refuses, and must agree with the
// library's own tld_data() in every state; and objects built with libtld
// 0.2's header (a per-object cache checked against an owner tag) keep
// working.
//
// The pool gives back the most recently freed page first, so a page that one
// thread drops is the next page another thread takes: the tests below use
// that to put a page into another thread's hands while a cache still names it.
#include <catch2/catch_test_macros.hpp>

#include <dlfcn.h>
#include <elf.h>
#include <pthread.h>
#include <semaphore.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "unit_catch.hpp"

using tldtest::make_key;

extern "C" {
void *tldtest_lib_a_counter(void);
tld_key_t tldtest_lib_a_key(void);
}

namespace {

using data_fn = void *(*)(tld_key_t);

// The library's exported tld_data(), never inlined.
data_fn library_tld_data()
{
	auto fn = reinterpret_cast<data_fn>(dlsym(RTLD_DEFAULT, "tld_data"));
	REQUIRE(fn != nullptr);
	return fn;
}

// A thread that, when asked, takes a block, writes a marker and reports the
// address; it keeps the block until it is told to finish.
class taker {
public:
	explicit taker(tld_key_t key) : key_(key)
	{
		sem_init(&go_, 0, 0);
		sem_init(&done_, 0, 0);
		thr_ = std::thread([this] {
			sem_wait(&go_);
			got_ = static_cast<std::uint64_t *>(tld_data(key_));
			if (got_)
				*got_ = 0x5eed;
			sem_post(&done_);
			sem_wait(&go_);
		});
	}
	~taker()
	{
		if (thr_.joinable())
			finish();
		sem_destroy(&go_);
		sem_destroy(&done_);
	}
	// Safe to call from any thread, including from a TSD destructor.
	std::uint64_t *take()
	{
		sem_post(&go_);
		sem_wait(&done_);
		return got_;
	}
	void finish()
	{
		sem_post(&go_);
		thr_.join();
	}

private:
	tld_key_t key_;
	sem_t go_{}, done_{};
	std::uint64_t *got_ = nullptr;
	std::thread thr_;
};

} // namespace

TEST_CASE("the inline tld_data reads the library's state of the thread and agrees with the library's tld_data")
{
	const tld_key_t a = make_key("inline.a", 8);
	const tld_key_t b = make_key("inline.b", 24);
	const data_fn lib = library_tld_data();
	// gnu_inline: the function's address is the library's symbol.
	CHECK(reinterpret_cast<data_fn>(&tld_data) == lib);

	std::thread([&] {
		auto *pa = static_cast<std::uint64_t *>(tld_data(a));
		REQUIRE(pa != nullptr);
		// The first call went to the library and told this object where
		// the library keeps the thread's state.
		REQUIRE(tld_priv_off != 0);
		const auto *t = TLD_PRIV_THREAD(tld_priv_off);
		CHECK(t->data + a.off == reinterpret_cast<char *>(pa));
		for (int i = 0; i < 3; ++i) {
			CHECK(tld_data(a) == lib(a));
			CHECK(tld_data(b) == lib(b));
		}
		*pa = 17;
		CHECK(*static_cast<std::uint64_t *>(lib(a)) == 17);
		CHECK(static_cast<char *>(tld_data(b)) - static_cast<char *>(tld_data(a)) == b.off - a.off);
	}).join();
}

TEST_CASE("after tld_free the inline tld_data never returns the page another thread took")
{
	const tld_key_t k = make_key("inline.free", 8);
	const data_fn lib = library_tld_data();
	taker other(k);
	std::thread([&] {
		auto *p1 = static_cast<std::uint64_t *>(tld_data(k));
		REQUIRE(p1 != nullptr);
		*p1 = 1;
		tld_free();
		std::uint64_t *q = other.take();	// the page just freed
		REQUIRE(q == p1);
		auto *p2 = static_cast<std::uint64_t *>(tld_data(k));
		REQUIRE(p2 != nullptr);
		CHECK(p2 != q);
		CHECK(p2 == lib(k));
		CHECK(*p2 == 0);
		*p2 = 2;
		CHECK(*q == 0x5eed);	// the other thread's value is untouched
	}).join();
}

TEST_CASE("a library's own inline tld_data follows the thread when it frees its block")
{
	const tld_key_t k = tldtest_lib_a_key();
	REQUIRE_FALSE(tld_key_is_err(k));
	taker other(k);
	std::thread([&] {
		// libtldtest_a.so's inline tld_data(), not this executable's.
		auto *p1 = static_cast<std::uint64_t *>(tldtest_lib_a_counter());
		REQUIRE(p1 != nullptr);
		tld_free();
		std::uint64_t *q = other.take();
		REQUIRE(q == p1);
		auto *p2 = static_cast<std::uint64_t *>(tldtest_lib_a_counter());
		REQUIRE(p2 != nullptr);
		CHECK(p2 != q);
		CHECK(*q == 0x5eed);
	}).join();
}

namespace {

struct exit_probe {
	tld_key_t key;
	taker *other;
	std::uint64_t *before = nullptr;
	std::uint64_t *taken_by_other = nullptr;
	std::uint64_t *after = nullptr;
	std::uint64_t *library_after = nullptr;
};

pthread_key_t g_probe_key;

// Runs after libtld's own destructor (pthread keys are destroyed in the
// order they were created), once the thread's page is back in the pool.
void probe_at_exit(void *arg)
{
	auto *p = static_cast<exit_probe *>(arg);
	p->taken_by_other = p->other->take();
	p->after = static_cast<std::uint64_t *>(tld_data(p->key));
	p->library_after = static_cast<std::uint64_t *>(library_tld_data()(p->key));
	tld_free();
}

} // namespace

TEST_CASE("a destructor running after libtld's at thread exit gets a block of its own through the inline tld_data")
{
	const tld_key_t k = make_key("inline.exit", 8);
	taker other(k);
	exit_probe probe{k, &other};
	std::thread([&] {
		probe.before = static_cast<std::uint64_t *>(tld_data(k));	// creates libtld's pthread key
		REQUIRE(probe.before != nullptr);
		*probe.before = 3;
		REQUIRE(pthread_key_create(&g_probe_key, probe_at_exit) == 0);
		REQUIRE(pthread_setspecific(g_probe_key, &probe) == 0);
	}).join();
	pthread_key_delete(g_probe_key);
	REQUIRE(probe.taken_by_other == probe.before);
	REQUIRE(probe.after != nullptr);
	CHECK(probe.after != probe.taken_by_other);
	CHECK(probe.after == probe.library_after);
	CHECK(*probe.taken_by_other == 0x5eed);
}

TEST_CASE("keys the library refuses are refused by the inline tld_data of a thread that holds its block")
{
	const tld_key_t k = make_key("inline.only", 8);
	const std::int16_t bad_offsets[] = {
		static_cast<std::int16_t>(k.off + 8),	// past the only key
		static_cast<std::int16_t>(k.off + 4),	// inside it, unaligned
		4096, 4104, 32000, 32767,		// beyond the data area
	};
	std::thread([&] {
		REQUIRE(tld_data(k) != nullptr);
		for (std::int16_t off : bad_offsets) {
			INFO("offset " << off);
			errno = 0;
			CHECK(tld_data(tld_key_t{off}) == nullptr);
			CHECK(errno == EINVAL);
		}
		for (int e : {EAGAIN, E2BIG, EEXIST}) {
			INFO("error key " << -e);
			errno = 0;
			CHECK(tld_data(tld_key_t{static_cast<std::int16_t>(-e)}) == nullptr);
			CHECK(errno == e);
		}
		CHECK(tld_data(k) != nullptr);
	}).join();
}

TEST_CASE("a key first used by another thread is accepted by the inline path and still gets the caller's page")
{
	const tld_key_t k = make_key("inline.shared", 8);
	std::uint64_t *mine = nullptr;
	std::thread([&] { mine = static_cast<std::uint64_t *>(tld_data(k)); }).join();
	REQUIRE(mine != nullptr);
	std::thread([&] {
		auto *p = static_cast<std::uint64_t *>(tld_data(k));
		REQUIRE(p != nullptr);
		CHECK(p == library_tld_data()(k));
	}).join();
}

// Bytes of the data area left after library A's 8-byte key, which its
// constructor created before main().
std::size_t room_after_lib_a()
{
	REQUIRE(tldtest_lib_a_key().off == 0);
	return tldtest::data_capacity() - 8;
}

// libtld 0.2's inline tld_data(): a per-object cache and its slow path,
// tld_priv_data(), as objects built with that release call it.
struct cache_0_2 {
	char *data;
	const std::uint64_t *tagp;
	std::uint64_t tag;
};
extern "C" void *tld_priv_data(tld_key_t key, cache_0_2 *cache, std::uint64_t *key_bits);

TEST_CASE("a data area that fills the page works through the inline tld_data and leaves the 0.2 cache off")
{
	REQUIRE(tld_set_dyn_data_size(0) == 0);
	const std::size_t room = room_after_lib_a();
	const tld_key_t k = make_key("inline.full", room);
	std::thread([&] {
		auto *p = static_cast<char *>(tld_data(k));
		REQUIRE(p != nullptr);
		CHECK(tld_data(k) == p);
		CHECK(library_tld_data()(k) == p);
		p[room - 1] = 1;	// the whole area is the caller's
		cache_0_2 c{};
		std::uint64_t bits[8] = {};
		CHECK(tld_priv_data(k, &c, bits) == p);
		CHECK(c.tagp == nullptr);	// no room for the owner tag
	}).join();
}

TEST_CASE("objects built with libtld 0.2 keep a cache that the owner tag invalidates when the page changes hands")
{
	REQUIRE(tld_set_dyn_data_size(0) == 0);
	const std::size_t room = room_after_lib_a() - 8;	// the tag just fits
	const tld_key_t k = make_key("inline.tight", room);
	taker other(k);
	std::thread([&] {
		cache_0_2 c{};
		std::uint64_t bits[8] = {};
		auto *p = static_cast<char *>(tld_priv_data(k, &c, bits));
		REQUIRE(p != nullptr);
		REQUIRE(c.tagp != nullptr);
		CHECK(reinterpret_cast<const char *>(c.tagp) == p + room);
		CHECK(reinterpret_cast<std::uintptr_t>(p + room + 8) % tldtest::page_size() == 0);
		CHECK(*c.tagp == c.tag);
		CHECK(c.data + k.off == p);
		CHECK((bits[k.off >> 9] >> (k.off >> 3 & 63) & 1) == 1);
		tld_free();
		CHECK(*c.tagp != c.tag);	// cleared before the page is given back
		REQUIRE(reinterpret_cast<char *>(other.take()) == p);
		CHECK(*c.tagp != c.tag);	// the other thread's tag is another one
	}).join();
}

TEST_CASE("a shared object that includes tld.h and inlines tld_data has no thread-local storage")
{
	// A plugin loaded with dlopen() must never fail to load for want of
	// static TLS because it included the header.
	const char *path = std::getenv("TLD_TEST_LIB_A");
	REQUIRE(path);
	FILE *f = std::fopen(path, "rb");
	REQUIRE(f);
	Elf64_Ehdr eh;
	REQUIRE(std::fread(&eh, sizeof(eh), 1, f) == 1);
	REQUIRE(std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0);
	REQUIRE(eh.e_ident[EI_CLASS] == ELFCLASS64);
	int tls = 0;
	for (unsigned i = 0; i < eh.e_phnum; ++i) {
		Elf64_Phdr ph;
		REQUIRE(std::fseek(f, static_cast<long>(eh.e_phoff + i * eh.e_phentsize), SEEK_SET) == 0);
		REQUIRE(std::fread(&ph, sizeof(ph), 1, f) == 1);
		tls += ph.p_type == PT_TLS;
	}
	std::fclose(f);
	CHECK(tls == 0);
	// And its inline path works.
	std::thread([] {
		auto *p = static_cast<std::uint64_t *>(tldtest_lib_a_counter());
		REQUIRE(p);
		CHECK(p == library_tld_data()(tldtest_lib_a_key()));
	}).join();
}

TEST_CASE("a forked child keeps the block of the thread that forked through the inline tld_data")
{
	const tld_key_t k = make_key("inline.fork", 8);
	auto *p = static_cast<std::uint64_t *>(tld_data(k));
	REQUIRE(p != nullptr);
	*p = 11;
	const int st = tldtest::in_child([&] {
		int bad = 0;
		auto *q = static_cast<std::uint64_t *>(tld_data(k));
		if (q != p || *q != 11 || q != library_tld_data()(k))
			bad |= 1;
		tld_free();
		auto *r = static_cast<std::uint64_t *>(tld_data(k));
		if (!r || *r != 0 || r != library_tld_data()(k))
			bad |= 2;
		return bad;
	});
	INFO("child exit status (bits: 1 not the forking thread's block, 2 after tld_free): " << st);
	CHECK(st == 0);
	CHECK(*p == 11);
}
