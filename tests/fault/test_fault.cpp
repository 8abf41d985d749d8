// libtld under injected faults (shim.c, preloaded): the kernel refusing map
// updates, pidfd_open failing, mmap failing.  Each case checks the errno the
// API returns, that the thread's TLDs still work locally where the memory
// exists, that no descriptor or page leaks, and that a retry succeeds once
// the fault is gone.  Each TEST_CASE runs in a process of its own.
#include <bpf/bpf.h>
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <barrier>
#include <latch>
#include <catch2/catch_test_macros.hpp>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bpftest.hpp"
#include "child.hpp"
#include "threads.hpp"
#include "tld/tld.h"

using tldtest::bytes_of;
using tldtest::in_thread;

namespace {

using fault_set_fn = int (*)(const char *, int, long, long, unsigned long);
using fault_hits_fn = long (*)(const char *);

// tld_fault_set() of the preloaded shim.
fault_set_fn shim_fault_set()
{
	auto set = reinterpret_cast<fault_set_fn>(dlsym(RTLD_DEFAULT, "tld_fault_set"));
	if (!set)
		throw std::runtime_error("the fault shim is not preloaded (LD_PRELOAD)");
	return set;
}

// tld_fault_hits() of the preloaded shim.
fault_hits_fn shim_fault_hits()
{
	auto hits = reinterpret_cast<fault_hits_fn>(dlsym(RTLD_DEFAULT, "tld_fault_hits"));
	if (!hits)
		throw std::runtime_error("the fault shim is not preloaded (LD_PRELOAD)");
	return hits;
}

// A fault of the preloaded shim, off again when the guard goes away.
class fault {
public:
	fault(const char *what, int err, long skip = 0, long count = -1, unsigned long len = 0)
		: what_(what), set_(shim_fault_set())
	{
		if (set_(what, err, skip, count, len))
			throw std::runtime_error(std::string("unknown fault ") + what);
	}
	~fault() { off(); }
	void off() { set_(what_, 0, 0, 0, 0); }
	fault(const fault &) = delete;
	fault &operator=(const fault &) = delete;

private:
	const char *what_;
	fault_set_fn set_;
};

// Turn a fault on (err != 0) or off without a guard: for faults that must
// outlive a scope, such as through a thread's exit.
void set_fault(const char *what, int err)
{
	if (shim_fault_set()(what, err, 0, -1, 0))
		throw std::runtime_error(std::string("unknown fault ") + what);
}

std::string errstr(int e) { return std::to_string(e) + " (" + std::strerror(e < 0 ? -e : e) + ")"; }

std::uintptr_t page_of(const void *p)
{
	return reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t(sysconf(_SC_PAGESIZE) - 1);
}

// The physical page behind the address `page` (/proc/self/pagemap; root
// sees frame numbers), or 0 when it is not resident.
std::uint64_t frame_of(std::uintptr_t page)
{
	FILE *f = std::fopen("/proc/self/pagemap", "rb");
	if (!f)
		return 0;
	std::uint64_t e = 0;
	const long at = static_cast<long>(page / static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE)) * 8);
	if (std::fseek(f, at, SEEK_SET) || std::fread(&e, 8, 1, f) != 1)
		e = 0;
	std::fclose(f);
	return (e >> 63) ? (e & ((std::uint64_t{1} << 55) - 1)) : 0;
}

// On the calling thread, tld_thread_init() succeeds and the TLD `k` takes
// `value`: "", or what failed (`when`: under which condition).
std::string init_and_write(tld_key_t k, std::uint64_t value, const std::string &when)
{
	if (int r = tld_thread_init())
		return "tld_thread_init()" + when + " = " + errstr(r);
	auto *p = static_cast<std::uint64_t *>(tld_data(k));
	if (!p)
		return "tld_data()" + when + " failed";
	*p = value;
	return {};
}

// The common part of the map update and pidfd_open cases: in a thread of its
// own, the fault makes registration fail; check errno, local use, retries.
std::string fail_then_retry(const tldtest::reader &obj, tld_key_t k, const char *what, int err)
{
	const int fd = obj.data_map_fd();
	const std::vector<tldtest::spec> spec = {{"fault.value", 8}};
	fault f(what, err);
	int r = tld_thread_init();
	if (r != -err)
		return "tld_thread_init() under the fault = " + errstr(r);
	auto *p = static_cast<std::uint64_t *>(tld_data(k));
	if (!p)
		return "tld_data() failed although the block exists: " + errstr(errno);
	*p = 0x5eed0000u + static_cast<unsigned>(err);
	f.off();
	auto rd = obj.read(spec);
	if (rd.has_elem)
		return "the thread has an element although its update failed";
	r = tld_thread_init();
	if (r != 0)
		return "tld_thread_init() retry after the fault = " + errstr(r);
	rd = obj.read(spec);
	if (!rd.has_elem || rd.items[0].found != 1 || rd.items[0].value != bytes_of(*p))
		return "BPF does not read the value after the retry";

	// The same through tld_get_data() with a fresh block.
	tld_free();
	fault g(what, err);
	errno = 0;
	void *q = tld_get_data(fd, k);
	if (q || errno != err)
		return "tld_get_data() under the fault: " + std::string(q ? "a pointer" : "NULL") +
		       ", errno " + errstr(errno);
	auto *l = static_cast<std::uint64_t *>(tld_data(k));
	if (!l)
		return "tld_data() failed after tld_get_data() failed: " + errstr(errno);
	*l = 0xfeed0000u + static_cast<unsigned>(err);
	g.off();
	q = tld_get_data(fd, k);
	if (q != l)
		return "tld_get_data() retry after the fault: " + errstr(errno);
	rd = obj.read(spec);
	if (rd.items[0].found != 1 || rd.items[0].value != bytes_of(*l))
		return "BPF does not read the value after the tld_get_data() retry";
	return {};
}

// The map update and pidfd_open cases: with a map registered, each error of
// `errs` as the fault `what` (`call` in messages) in a thread of its own
// (fail_then_retry), then check(obj) before the map is unregistered; no
// descriptor leaks.
template <typename F>
void fail_then_retry_each(const char *what, const char *call, std::initializer_list<int> errs,
			  F check)
{
	tldtest::require_bpf();
	tldtest::reader obj;
	tld_key_t k = tld_create_key("fault.value", 8);
	REQUIRE(!tld_key_is_err(k));
	tldtest::hold_reserve();
	const int fds0 = tldtest::count_fds();
	REQUIRE(tld_map_register(obj.data_map_fd()) == 0);
	for (int err : errs) {
		INFO(call << " fails with " << errstr(err));
		CHECK(in_thread([&] { return fail_then_retry(obj, k, what, err); }) == "");
	}
	check(obj);
	REQUIRE(tld_map_unregister(obj.data_map_fd()) == 0);
	CHECK(tldtest::count_fds() == fds0);
}

} // namespace

TEST_CASE("a map update failing with EPERM ENOMEM E2BIG or EBUSY is returned while the TLDs work locally and a retry succeeds")
{
	fail_then_retry_each("bpf_update", "bpf(BPF_MAP_UPDATE_ELEM)", {EPERM, ENOMEM, E2BIG, EBUSY},
			     [](const tldtest::reader &obj) {
				     CHECK(obj.threads_with_element(getpid()).empty());
			     });
}

TEST_CASE("pidfd_open failing with ENOSYS or EMFILE is returned while the TLDs work locally and a retry succeeds")
{
	fail_then_retry_each("pidfd_open", "pidfd_open()", {ENOSYS, EMFILE},
			     [](const tldtest::reader &) {});
}

TEST_CASE("tld_map_register is all or nothing when adding one of the threads fails and leaks nothing")
{
	tldtest::require_bpf();
	tldtest::reader obj;
	tld_key_t k = tld_create_key("fault.value", 8);
	REQUIRE(!tld_key_is_err(k));
	const int n = 4;
	std::barrier sync(n + 1);
	std::vector<pid_t> tids(n);
	std::vector<std::thread> ts;
	for (int i = 0; i < n; ++i)
		ts.emplace_back([&, i] {
			tids[i] = tldtest::gettid_();
			if (tld_thread_init() == 0 && tld_data(k))
				*static_cast<std::uint64_t *>(tld_data(k)) = 100u + i;
			sync.arrive_and_wait();	// blocks exist
			sync.arrive_and_wait();	// checked
		});
	sync.arrive_and_wait();
	tldtest::hold_reserve();
	const int fds0 = tldtest::count_fds();
	struct step {
		const char *what;
		int err;
	};
	// (A single EMFILE from pidfd_open() is absorbed by the descriptor
	// libtld holds in reserve; reg-no-fds tests a process out of them.)
	for (step s : {step{"bpf_update", EPERM}, step{"bpf_update", ENOMEM},
		       step{"pidfd_open", ENOMEM}, step{"pidfd_open", ENOSYS}}) {
		INFO(s.what << " fails with " << errstr(s.err) << " for the third thread");
		{
			fault f(s.what, s.err, 2, 1);
			CHECK(tld_map_register(obj.data_map_fd()) == -s.err);
		}
		CHECK(obj.threads_with_element(getpid()).empty());
		CHECK(tldtest::count_fds() == fds0);
		CHECK(tld_map_unregister(obj.data_map_fd()) == -ENOENT);
	}
	REQUIRE(tld_map_register(obj.data_map_fd()) == 0);
	auto with = obj.threads_with_element(getpid());
	std::sort(with.begin(), with.end());
	auto want = tids;
	std::sort(want.begin(), want.end());
	CHECK(with == want);
	REQUIRE(tld_map_unregister(obj.data_map_fd()) == 0);
	CHECK(obj.threads_with_element(getpid()).empty());
	CHECK(tldtest::count_fds() == fds0);
	sync.arrive_and_wait();
	for (auto &t : ts)
		t.join();
}

TEST_CASE("tld_map_open returns the error of a failing bpf_obj_get and leaks no descriptor")
{
	tldtest::require_bpf();
	tldtest::reader obj;
	tldtest::pin pinned(obj.data_map_fd(), "fault");
	const std::string &pin = pinned.path;
	tldtest::hold_reserve();
	const int fds0 = tldtest::count_fds();
	for (int err : {ENOMEM, EMFILE, EPERM}) {
		fault f("bpf_obj_get", err);
		CHECK(tld_map_open(pin.c_str()) == -err);
		CHECK(errno == err);
	}
	CHECK(tldtest::count_fds() == fds0);
	{
		// The map update fails: the map is opened, refused, and closed.
		fault f("bpf_update", EPERM);
		REQUIRE(tld_thread_init() == 0);
		CHECK(tld_map_open(pin.c_str()) == -EPERM);
	}
	CHECK(tldtest::count_fds() == fds0);
	int fd = tld_map_open(pin.c_str());
	REQUIRE(fd >= 0);
	close(fd);
	CHECK(tldtest::count_fds() == fds0 + 1);	// the registration's own descriptor
}

TEST_CASE("a TLD_MAP registration that failed is made by a later tld_thread_init")
{
	tldtest::require_bpf();
	tldtest::reader obj;
	tldtest::pin pinned(obj.data_map_fd(), "fault-env");
	const std::string &pin = pinned.path;
	for (const char *what : {"bpf_update", "bpf_obj_get", "pidfd_open"}) {
		INFO(what << " fails with ENOMEM at the first lookup");
		// A fresh process: TLD_MAP is read at the first lookup.
		const int st = tldtest::in_child([&] {
			int rc = 0;
			setenv("TLD_MAP", pin.c_str(), 1);
			tld_key_t k = tld_create_key("fault.env", 8);
			{
				fault f(what, ENOMEM);
				if (tld_thread_init() != -ENOMEM)
					rc |= 1;
				auto *p = static_cast<std::uint64_t *>(tld_data(k));
				if (!p)
					_exit(rc | 2);
				*p = 0xe4e4;
			}
			if (tld_thread_init() != 0)
				rc |= 4;
			try {
				auto rd = obj.read({{"fault.env", 8}});
				if (rd.items[0].found != 1 ||
				    rd.items[0].value != bytes_of(std::uint64_t{0xe4e4}))
					rc |= 8;
			} catch (...) {
				rc |= 16;
			}
			return rc;
		});
		INFO("child failures (bits: 1 first tld_thread_init, 2 tld_data, 4 retry, 8 BPF read, 16 reader): "
		     << st);
		CHECK(st == 0);
	}
}

TEST_CASE("an element that cannot be deleted never shows BPF another thread's data")
{
	tldtest::require_bpf();
	tldtest::reader obj;
	tld_key_t k = tld_create_key("fault.value", 8);
	REQUIRE(!tld_key_is_err(k));
	REQUIRE(tld_map_register(obj.data_map_fd()) == 0);
	const std::vector<tldtest::spec> spec = {{"fault.value", 8}};
	struct step {
		const char *what;
		int err;
	};
	for (step s : {step{"pidfd_open", EMFILE}, step{"bpf_delete", EBUSY},
		       step{"pidfd_open", ENOMEM}}) {
		INFO(s.what << " fails with " << errstr(s.err) << " while the block is released");
		// tld_free(): the thread lives on with whatever element is left.
		std::uintptr_t first = 0, second = 0;
		std::string seen;
		std::latch freed(1), wrote(1), looked(1);
		std::thread t([&] {
			auto *p = static_cast<std::uint64_t *>(tld_get_data(obj.data_map_fd(), k));
			if (p) {
				*p = 0xaaaa;
				first = page_of(p);
				fault f(s.what, s.err);
				tld_free();
			} else {
				seen = "tld_get_data failed";
			}
			freed.count_down();
			wrote.wait();	// another thread took a block and wrote to it
			auto rd = obj.read(spec);
			looked.count_down();
			if (rd.err == 0 && rd.items[0].found == 1 &&
			    rd.items[0].value == bytes_of(std::uint64_t{0xbbbb}))
				seen = "BPF reads the other thread's value through this thread's element";
		});
		freed.wait();
		std::thread u([&] {
			auto *p = static_cast<std::uint64_t *>(tld_get_data(obj.data_map_fd(), k));
			if (p) {
				*p = 0xbbbb;
				second = page_of(p);
			}
			wrote.count_down();
			looked.wait();	// alive while the first thread looks
		});
		t.join();
		u.join();
		CHECK(seen == "");
		CHECK(second != 0);
		// Thread exit under the same fault: the physical page the element
		// may still point at must never be handed out again; its address
		// may, backed by a fresh page.
		std::uintptr_t exited = 0, after = 0;
		std::uint64_t exited_frame = 0, after_frame = 0;
		std::thread v([&] {
			auto *p = tld_get_data(obj.data_map_fd(), k);
			if (!p)
				return;
			exited = page_of(p);
			exited_frame = frame_of(exited);
			set_fault(s.what, s.err);	// on through the thread's exit
		});
		v.join();
		set_fault(s.what, 0);
		std::thread w([&] {
			auto *p = static_cast<std::uint64_t *>(tld_get_data(obj.data_map_fd(), k));
			if (p) {
				*p = 0xcccc;
				after = page_of(p);
				after_frame = frame_of(after);
			}
		});
		w.join();
		CHECK(exited != 0);
		CHECK(after != 0);
		CHECK(exited_frame != 0);
		CHECK(after_frame != 0);
		INFO("a page whose element could not be deleted was handed out again");
		CHECK(after_frame != exited_frame);
	}
}

TEST_CASE("with no map registered no pidfd_open is made and tld_thread_init cannot fail on it")
{
	tld_key_t k = tld_create_key("fault.nomap", 8);
	REQUIRE(!tld_key_is_err(k));
	fault f("pidfd_open", ENOSYS);	// a kernel or seccomp filter without pidfd_open
	CHECK(tld_thread_init() == 0);
	CHECK(in_thread([&]() -> std::string {
		if (std::string failed = init_and_write(k, 3, ""); !failed.empty())
			return failed;
		tld_free();
		if (!tld_get_data(-1, k) && errno != EBADF)
			return "tld_get_data(-1) errno " + errstr(errno);
		return {};
	}) == "");
	CHECK(shim_fault_hits()("pidfd_open") == 0);
}

namespace {

// A later library's thread-specific data: its destructor runs after
// libtld's in each of glibc's rounds and looks a TLD up in the last one.
pthread_key_t g_late_key;
tld_key_t g_late_tld;
std::atomic<int> g_late_served{0};
std::vector<std::uintptr_t> g_late_pages;	// written by one thread at a time

void late_destructor(void *arg)
{
	const auto round = reinterpret_cast<std::uintptr_t>(arg);
	if (round < PTHREAD_DESTRUCTOR_ITERATIONS) {
		pthread_setspecific(g_late_key, reinterpret_cast<void *>(round + 1));
		return;
	}
	if (auto *p = static_cast<std::uint64_t *>(tld_data(g_late_tld))) {
		*p = round;
		g_late_pages.push_back(page_of(p));
		g_late_served.fetch_add(1);
	}
}

} // namespace

TEST_CASE("a lookup in the last destructor round gets a block without pidfd_open and its page comes back")
{
	g_late_tld = tld_create_key("fault.late", 8);
	REQUIRE(!tld_key_is_err(g_late_tld));
	REQUIRE(tld_data(g_late_tld));	// libtld's pthread key is made first
	REQUIRE(pthread_key_create(&g_late_key, late_destructor) == 0);
	fault f("pidfd_open", ENOSYS);	// a seccomp filter or a tool without pidfd_open
	constexpr int threads = 50;
	for (int i = 0; i < threads; ++i) {
		std::thread([] {
			if (tld_data(g_late_tld))
				pthread_setspecific(g_late_key, reinterpret_cast<void *>(1));
		}).join();
	}
	pthread_key_delete(g_late_key);
	CHECK(g_late_served == threads);
	// Pages of gone threads go back to the pool and are handed out again:
	// a handful of distinct pages, not one per thread.
	std::sort(g_late_pages.begin(), g_late_pages.end());
	const auto distinct = std::unique(g_late_pages.begin(), g_late_pages.end()) - g_late_pages.begin();
	INFO(distinct << " distinct pages for " << threads << " late blocks");
	CHECK(distinct <= 4);
	CHECK(shim_fault_hits()("pidfd_open") == 0);
}

TEST_CASE("a failed mmap of the metadata page is -ENOMEM and a retry succeeds")
{
	const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
	{
		fault f("mmap", ENOMEM, 0, -1, page);
		tld_key_t k = tld_create_key("fault.meta", 8);
		CHECK(k.off == -ENOMEM);
		CHECK(errno == ENOMEM);
		CHECK(tld_find_key("fault.meta", 8).off == -ENOENT);
		CHECK(tld_thread_init() == -ENOMEM);
		errno = 0;
		CHECK(tld_data(tld_key_t{0}) == nullptr);
		CHECK(errno == EINVAL);
		int r = tld_set_dyn_data_size(128);
		INFO("tld_set_dyn_data_size: " << errstr(r));
		CHECK(r == -ENOMEM);
	}
	tld_key_t k = tld_create_key("fault.meta", 8);
	REQUIRE(!tld_key_is_err(k));
	CHECK(tld_thread_init() == 0);
	auto *p = static_cast<std::uint64_t *>(tld_data(k));
	REQUIRE(p != nullptr);
	*p = 42;
	CHECK(*static_cast<std::uint64_t *>(tld_data(k)) == 42);
}

TEST_CASE("a failed mmap of the page pool is -ENOMEM for a new thread while pages given back are still handed out and a retry succeeds")
{
	const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
	tld_key_t k = tld_create_key("fault.pool", 8);
	REQUIRE(!tld_key_is_err(k));
	const int chunk = 64;	// pages per pool mmap (pool.cpp)
	tldtest::hold_reserve();
	const int fds0 = tldtest::count_fds();
	// Hold every page of the first chunk.
	std::vector<std::uintptr_t> pages(chunk);
	std::vector<std::atomic<int>> release(chunk);
	std::barrier held(chunk + 1);
	std::vector<std::thread> holders;
	for (int i = 0; i < chunk; ++i)
		holders.emplace_back([&, i] {
			if (tld_thread_init() == 0)
				pages[i] = page_of(tld_data(k));
			held.arrive_and_wait();
			while (!release[i].load())
				std::this_thread::sleep_for(std::chrono::milliseconds(1));
		});
	held.arrive_and_wait();
	for (auto p : pages)
		REQUIRE(p != 0);
	{
		fault f("mmap", ENOMEM, 0, -1, chunk * page);
		CHECK(in_thread([&]() -> std::string {
			int r = tld_thread_init();
			if (r != -ENOMEM)
				return "tld_thread_init() = " + errstr(r);
			errno = 0;
			if (tld_data(k) || errno != ENOMEM)
				return "tld_data() without memory: errno " + errstr(errno);
			errno = 0;
			if (tld_get_data(-1, k) || errno != ENOMEM)
				return "tld_get_data() without memory: errno " + errstr(errno);
			return {};
		}) == "");
		// A page given back is handed out again without a new mapping.
		release[7] = 1;
		holders[7].join();
		std::uintptr_t reused = 0;
		CHECK(in_thread([&]() -> std::string {
			if (int r = tld_thread_init())
				return "tld_thread_init() with a page in the pool = " + errstr(r);
			reused = page_of(tld_data(k));
			return {};
		}) == "");
		CHECK(reused == pages[7]);
	}
	// The fault is gone: a new chunk is mapped.
	CHECK(in_thread([&]() -> std::string {
		return init_and_write(k, 1, " after the fault");
	}) == "");
	for (int i = 0; i < chunk; ++i)
		release[i] = 1;
	for (int i = 0; i < chunk; ++i)
		if (i != 7)
			holders[i].join();
	CHECK(tldtest::count_fds() == fds0);
}
