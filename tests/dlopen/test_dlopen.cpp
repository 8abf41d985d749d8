// Libraries loaded with dlopen() after threads exist, unloading them, and
// tld_data() from signal handlers.  Built and run under ASan too: the bytes
// of each block past its data area are poisoned while a test writes through
// late keys, so a key handed out past the end of a block is a reported error,
// not a silent write into the next thread's page.
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <catch2/catch_test_macros.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "threads.hpp"
#include "tld/tld.h"

#if defined(__SANITIZE_ADDRESS__)
#define TLD_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TLD_TEST_ASAN 1
#endif
#endif
#ifdef TLD_TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

TLD_DEFINE_KEY(base_key, "dl.base", 8);

namespace {

// The data area of every block: the keys defined before any block (dl.base)
// plus the default reserve.
constexpr std::size_t area = 8 + TLD_DYN_DATA_SIZE_DEFAULT;

std::uintptr_t page_of(const void *p)
{
	return reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t(sysconf(_SC_PAGESIZE) - 1);
}

void *open_lib(const char *env)
{
	const char *path = std::getenv(env);
	if (!path)
		throw std::runtime_error(std::string(env) + " is not set");
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		throw std::runtime_error(dlerror());
	return h;
}

// The key a plugin's exported function `sym` returns (the key variables
// themselves are hidden in their plugin).
tld_key_t key_in(void *h, const char *sym)
{
	auto *fn = reinterpret_cast<tld_key_t (*)(void)>(dlsym(h, sym));
	if (!fn)
		throw std::runtime_error(std::string("no symbol ") + sym);
	return fn();
}

// Write all `size` bytes of the TLD of `k` in the calling thread, with the
// rest of the page past the block's data area poisoned under ASan.  Returns
// a failure text.
std::string write_inside_block(tld_key_t k, std::size_t size, std::uint8_t fill)
{
	auto *p = static_cast<std::uint8_t *>(tld_data(k));
	if (!p)
		return "tld_data() failed: " + std::to_string(errno);
	const std::uintptr_t page = page_of(p);
	const std::uintptr_t end = page + 8 + area;
	if (reinterpret_cast<std::uintptr_t>(p) < page + 8 ||
	    reinterpret_cast<std::uintptr_t>(p) + size > end)
		return "key at page offset " + std::to_string(reinterpret_cast<std::uintptr_t>(p) - page) +
		       " with " + std::to_string(size) + " bytes runs past the block's " +
		       std::to_string(area) + "-byte data area";
	const std::size_t ps = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
#ifdef TLD_TEST_ASAN
	ASAN_POISON_MEMORY_REGION(reinterpret_cast<void *>(end), page + ps - end);
#endif
	std::memset(p, fill, size);
#ifdef TLD_TEST_ASAN
	ASAN_UNPOISON_MEMORY_REGION(reinterpret_cast<void *>(end), page + ps - end);
#endif
	(void)ps;
	return {};
}

} // namespace

TEST_CASE("libraries loaded with dlopen after threads hold blocks get keys inside every block or -E2BIG")
{
	const int n = 4;
	std::barrier sync(n + 1);
	tld_key_t fit{-1}, big{-1};
	std::vector<tld_key_t> many;
	std::vector<std::string> failures(n);
	std::vector<std::thread> ts;
	for (int i = 0; i < n; ++i)
		ts.emplace_back([&, i] {
			std::string &f = failures[static_cast<std::size_t>(i)];
			if (tld_thread_init() || !tld_data(base_key))
				f = "no block";
			else
				*static_cast<std::uint64_t *>(tld_data(base_key)) = 0xba5e0000u + i;
			sync.arrive_and_wait();	// blocks exist
			sync.arrive_and_wait();	// the libraries are loaded
			if (f.empty())
				f = write_inside_block(fit, 16, 0xf1);
			for (std::size_t j = 0; j < many.size() && f.empty(); ++j)
				if (!tld_key_is_err(many[j]))
					f = write_inside_block(many[j], 16, static_cast<std::uint8_t>(j));
			errno = 0;
			if (f.empty() && (tld_data(big) || errno != E2BIG))
				f = "the refused key gave a pointer or the wrong errno";
			if (f.empty() && *static_cast<std::uint64_t *>(tld_data(base_key)) != 0xba5e0000u + i)
				f = "writing the late keys overwrote dl.base";
		});
	sync.arrive_and_wait();
	void *hf = open_lib("LATE_FIT");
	void *hb = open_lib("LATE_BIG");
	void *hm = open_lib("LATE_MANY");
	fit = key_in(hf, "tldtest_late_fit_key");
	big = key_in(hb, "tldtest_late_big_key");
	for (const char *s : {"tldtest_late_m0_key", "tldtest_late_m1_key", "tldtest_late_m2_key",
			      "tldtest_late_m3_key", "tldtest_late_m4_key"})
		many.push_back(key_in(hm, s));
	sync.arrive_and_wait();
	for (auto &t : ts)
		t.join();
	CHECK(fit.off >= 8);
	CHECK(big.off == -E2BIG);
	// 64 bytes of reserve: late.fit takes 16, three of the five others fit.
	int ok = 0, refused = 0;
	for (auto k : many) {
		if (!tld_key_is_err(k))
			++ok;
		else if (k.off == -E2BIG)
			++refused;
	}
	CHECK(ok == 3);
	CHECK(refused == 2);
	REQUIRE_NO_FAILURES(failures);
	// A thread started afterwards has every late key inside its block too.
	CHECK(tldtest::in_thread([&]() -> std::string {
		if (auto f = write_inside_block(fit, 16, 1); !f.empty())
			return f;
		for (auto k : many)
			if (!tld_key_is_err(k))
				if (auto f = write_inside_block(k, 16, 2); !f.empty())
					return f;
		return {};
	}) == "");
	dlclose(hf);
	dlclose(hb);
	dlclose(hm);
}

TEST_CASE("a library loaded before any thread took a block has its keys sized into every block")
{
	void *hb = open_lib("LATE_BIG");
	tld_key_t big = key_in(hb, "tldtest_late_big_key");
	REQUIRE(big.off >= 0);
	CHECK(tldtest::in_thread([&]() -> std::string {
		auto *p = static_cast<std::uint8_t *>(tld_data(big));
		if (!p)
			return "tld_data() failed";
		std::memset(p, 0x5a, 128);
		return {};
	}) == "");
	dlclose(hb);
}

TEST_CASE("unloading a library that created keys leaves its TLDs published and every thread's data intact")
{
	void *h = open_lib("LATE_FIT");
	tld_key_t k = key_in(h, "tldtest_late_fit_key");
	REQUIRE(k.off >= 0);
	std::barrier sync(3);
	std::vector<std::string> failures(2);
	std::vector<std::thread> ts;
	for (int i = 0; i < 2; ++i)
		ts.emplace_back([&, i] {
			std::string &f = failures[static_cast<std::size_t>(i)];
			auto *p = static_cast<std::uint8_t *>(tld_data(k));
			if (!p)
				f = "tld_data() failed";
			else
				std::memset(p, 0x30 + i, 16);
			sync.arrive_and_wait();	// written
			sync.arrive_and_wait();	// the library is gone
			auto *q = static_cast<std::uint8_t *>(tld_data(k));
			if (f.empty() && q != p)
				f = "the TLD moved";
			for (int j = 0; f.empty() && j < 16; ++j)
				if (q[j] != 0x30 + i)
					f = "the TLD's bytes changed";
		});
	sync.arrive_and_wait();
	REQUIRE(dlclose(h) == 0);
	sync.arrive_and_wait();
	for (auto &t : ts)
		t.join();
	REQUIRE_NO_FAILURES(failures);
	// The name stays published: other code finds it, nobody re-creates it.
	CHECK(tld_find_key("late.fit", 16).off == k.off);
	CHECK(tld_create_key("late.fit", 16).off == -EEXIST);
	// Loading the library again runs its TLD_DEFINE_KEY again: the name is
	// published with the same size, so the reloaded key is the same key
	// (test_reload.cpp reads what a reloaded plugin writes through BPF).
	void *again = open_lib("LATE_FIT");
	CHECK(key_in(again, "tldtest_late_fit_key").off == k.off);
	CHECK(tld_find_key("late.fit", 16).off == k.off);
	dlclose(again);
}

namespace {

tld_key_t g_sig_key{-1};
std::atomic<long> g_handled{0};
std::atomic<long> g_handler_failures{0};

void on_signal(int)
{
	int saved = errno;
	auto *p = static_cast<std::uint64_t *>(tld_data(g_sig_key));
	if (p)
		++*p;
	else
		g_handler_failures.fetch_add(1, std::memory_order_relaxed);
	g_handled.fetch_add(1, std::memory_order_relaxed);
	errno = saved;
}

} // namespace

TEST_CASE("tld_data from a signal handler after tld_thread_init counts every signal in its own thread")
{
	g_sig_key = tld_create_key("sig.count", 8);
	REQUIRE(!tld_key_is_err(g_sig_key));
	tld_key_t work = tld_create_key("sig.work", 8);
	REQUIRE(!tld_key_is_err(work));
	struct sigaction sa = {};
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	REQUIRE(sigaction(SIGUSR1, &sa, nullptr) == 0);

	// Memcheck runs one thread at a time: a few rounds prove the same there.
	const int n = 4, per_thread = std::getenv("TLD_TEST_UNDER_VALGRIND") ? 10 : 200;
	std::atomic<bool> stop{false};
	std::atomic<int> ready{0};
	std::vector<pthread_t> handles(n);
	std::vector<std::uint64_t> counted(n);
	std::vector<std::string> failures(n);
	std::vector<std::thread> ts;
	for (int i = 0; i < n; ++i)
		ts.emplace_back([&, i] {
			handles[static_cast<std::size_t>(i)] = pthread_self();
			if (tld_thread_init() != 0)
				failures[static_cast<std::size_t>(i)] = "tld_thread_init() failed";
			ready.fetch_add(1);
			std::uint64_t w = 0;
			while (!stop.load(std::memory_order_relaxed)) {
				// The handler interrupts this thread inside its own lookups.
				auto *p = static_cast<std::uint64_t *>(tld_data(work));
				if (p)
					*p = ++w;
			}
			counted[static_cast<std::size_t>(i)] = *static_cast<std::uint64_t *>(tld_data(g_sig_key));
		});
	while (ready.load() < n)
		std::this_thread::yield();
	long sent = 0;
	for (int r = 0; r < per_thread; ++r)
		for (int i = 0; i < n; ++i) {
			long before = g_handled.load();
			if (pthread_kill(handles[static_cast<std::size_t>(i)], SIGUSR1) == 0)
				++sent;
			// One signal at a time: pending signals of one number coalesce.
			while (g_handled.load() == before)
				std::this_thread::yield();
		}
	stop = true;
	for (auto &t : ts)
		t.join();
	REQUIRE_NO_FAILURES(failures);
	CHECK(g_handler_failures.load() == 0);
	CHECK(g_handled.load() == sent);
	std::uint64_t total = 0;
	for (auto c : counted) {
		CHECK(c == static_cast<std::uint64_t>(per_thread));
		total += c;
	}
	CHECK(total == static_cast<std::uint64_t>(sent));
	signal(SIGUSR1, SIG_DFL);
}
