// Registrations that live as long as their owner: cancellation, thread
// exit order, consumer restarts, several owners, exhausted limits, wrong
// layouts, setuid, retried failures, memory given back, diagnostics.  What
// BPF sees is read through BPF.  Each TEST_CASE runs in a process of its own
// (see meson.build).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch_test_macros.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <string>
#include <vector>

#include "bpftest.hpp"
#include "child.hpp"
#include "threads.hpp"
#include "tld/tld.h"
#include "tld/tld.hpp"

using tldtest::bytes_of;
using tldtest::reader;
using tldtest::with_pending_cancel;

namespace {

TLD_DEFINE_KEY(k_value, "reg.value", sizeof(std::uint64_t));

} // namespace

TEST_CASE("a thread with a pending cancellation completes every libtld call and is cancelled after it")
{
	reader r(reader::verify);
	tldtest::pin pinned(r.data_map_fd(), "cancel");
	const int fd = r.data_map_fd();
	const std::vector<std::pair<const char *, std::function<long()>>> calls = {
		{"tld_map_register", [fd] { return long{tld_map_register(fd)}; }},
		{"tld_get_data (first)", [fd] { return long{tld_get_data(fd, k_value) != nullptr}; }},
		{"tld_thread_init", [] { return long{tld_thread_init()}; }},
		{"tld_map_unregister", [fd] { return long{tld_map_unregister(fd)}; }},
		// Returns the descriptor: close() in the thread would act on the
		// cancellation before the result is recorded.
		{"tld_map_open", [&pinned] { return long{tld_map_open(pinned.path.c_str())}; }},
		{"tld_data (first)", [] { return long{tld_data(k_value) != nullptr}; }},
		{"tld_free", [] {
			 tld_data(k_value);
			 tld_free();
			 return 1L;
		 }},
	};
	const long want[] = {0, 1, 0, 0, -1, 1, 1};	// -1: a descriptor
	for (std::size_t i = 0; i < calls.size(); ++i) {
		INFO(calls[i].first);
		auto c = with_pending_cancel(calls[i].second);
		CHECK(c.returned);
		CHECK(c.cancelled);
		if (want[i] == -1) {
			CHECK(c.result >= 0);
			close(static_cast<int>(c.result));
		} else {
			CHECK(c.result == want[i]);
		}
	}
	// The first tld_data() of a process with TLD_MAP set opens the pin.
	INFO("tld_data (first, TLD_MAP set) in a fresh process");
	CHECK(tldtest::in_child([&] {
		setenv("TLD_MAP", pinned.path.c_str(), 1);
		auto c = with_pending_cancel([] { return long{tld_data(k_value) != nullptr}; });
		return c.returned && c.cancelled && c.result == 1 ? 0 : 1;
	}) == 0);
}

namespace {

// Another library's thread-specific data whose destructor runs after
// libtld's (its key is created later) in every one of glibc's destructor
// rounds, and calls tld_data() in round `late_round`.
pthread_key_t g_other_key;
// Atomic: ThreadSanitizer does not see that pthread_join() follows the
// late destructor rounds.
std::atomic<int> g_late_round{0};
// ThreadSanitizer ends its own record of a thread in glibc's last
// destructor round, before later keys' destructors run: a lock taken there
// crashes it.  A lookup in round N has libtld's destructor run in round
// N + 1, so under it the last two rounds are not tried.
#ifdef __SANITIZE_THREAD__
constexpr int last_destructor_round = PTHREAD_DESTRUCTOR_ITERATIONS - 2;
#else
constexpr int last_destructor_round = PTHREAD_DESTRUCTOR_ITERATIONS;
#endif
std::atomic<int> g_late_ok{0};

void other_destructor(void *arg)
{
	const auto round = reinterpret_cast<std::uintptr_t>(arg);
	if (static_cast<int>(round) == g_late_round) {
		auto *p = static_cast<std::uint64_t *>(tld_data(k_value));
		if (p) {
			*p = 0x1a7e;
			g_late_ok.fetch_add(1);
		}
	}
	if (round < PTHREAD_DESTRUCTOR_ITERATIONS)
		pthread_setspecific(g_other_key, reinterpret_cast<void *>(round + 1));
}

} // namespace

TEST_CASE("another library's destructor that calls tld_data in any destructor round leaves no record of its thread")
{
	reader r(reader::probe);
	REQUIRE(tld_map_register(r.data_map_fd()) == 0);
	REQUIRE(tld_data(k_value));	// libtld's key first: its destructor runs first
	REQUIRE(pthread_key_create(&g_other_key, other_destructor) == 0);
	for (int round = 1; round <= last_destructor_round; ++round) {
		INFO("tld_data() in destructor round " << round);
		g_late_round = round;
		g_late_ok = 0;
		pthread_t t;
		REQUIRE(pthread_create(&t, nullptr, [](void *) -> void * {
				if (!tld_data(k_value))
					return nullptr;
				pthread_setspecific(g_other_key, reinterpret_cast<void *>(1));
				return nullptr;
			}, nullptr) == 0);
		REQUIRE(pthread_join(t, nullptr) == 0);
		CHECK(g_late_ok == 1);	// the late lookup was served
		// Only this thread is left with an element, and every map call
		// works: no record of the dead thread is walked.
		CHECK(r.threads_with_element(getpid()) == std::vector<pid_t>{tldtest::gettid_()});
		reader other(reader::probe);
		CHECK(tld_map_register(other.data_map_fd()) == 0);
		CHECK(other.threads_with_element(getpid()) == std::vector<pid_t>{tldtest::gettid_()});
		CHECK(tld_map_unregister(other.data_map_fd()) == 0);
		CHECK(other.threads_with_element(getpid()).empty());
	}
	pthread_key_delete(g_other_key);
}

TEST_CASE("after the process ran out of pthread keys once a later lookup succeeds and BPF sees it")
{
	reader r(reader::verify);
	REQUIRE(tld_map_register(r.data_map_fd()) == 0);
	std::vector<pthread_key_t> keys;
	pthread_key_t k;
	while (pthread_key_create(&k, nullptr) == 0)
		keys.push_back(k);
	REQUIRE(!keys.empty());
	errno = 0;
	CHECK(tld_data(k_value) == nullptr);
	CHECK(errno == EAGAIN);
	for (pthread_key_t key : keys)
		pthread_key_delete(key);
	auto *p = static_cast<std::uint64_t *>(tld_data(k_value));
	REQUIRE(p);
	*p = 0x4e7;
	auto rd = r.read({{"reg.value", 8}});
	CHECK(rd.items[0].value == bytes_of(std::uint64_t{0x4e7}));
}

TEST_CASE("after a spike of 4000 threads that exit the page pool gives its pages back beyond a small cache")
{
	reader r(reader::probe);
	REQUIRE(tld_map_register(r.data_map_fd()) == 0);
	const int n = std::getenv("STRESS_THREADS") ? 1000 : 4000;	// fewer under sanitizers
	const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	struct spike {
		bool use_tld;
		std::size_t page;
		std::vector<std::uintptr_t> pages;	// each thread's block
		std::atomic<int> next{0};		// index into pages
		std::atomic<int> started{0};
		std::atomic<int> failed{0};
		std::atomic<bool> go{false};
	};
	// How many of the blocks' pages are resident (mincore(); an unmapped
	// page is not).
	auto resident = [page](const std::vector<std::uintptr_t> &pages) {
		int count = 0;
		for (std::uintptr_t a : pages) {
			unsigned char v = 0;
			if (mincore(reinterpret_cast<void *>(a), page, &v) == 0 && (v & 1))
				++count;
		}
		return count;
	};
	long peak_kib = 0;
	int peak_resident = 0;
	std::vector<std::uintptr_t> blocks;
	auto run = [&](bool use_tld) {
		spike s;
		s.use_tld = use_tld;
		s.page = page;
		s.pages.resize(static_cast<std::size_t>(n));
		std::vector<pthread_t> ts(static_cast<std::size_t>(n));
		for (auto &t : ts)
			REQUIRE(pthread_create(&t, &attr, [](void *arg) -> void * {
					auto *s = static_cast<spike *>(arg);
					void *p = s->use_tld ? tld_data(k_value) : nullptr;
					if (s->use_tld && !p)
						s->failed.fetch_add(1);
					const auto i = static_cast<std::size_t>(s->next.fetch_add(1));
					s->pages[i] = reinterpret_cast<std::uintptr_t>(p) & ~(s->page - 1);
					s->started.fetch_add(1);	// after the write main reads
					s->started.notify_one();
					s->go.wait(false);
					return nullptr;
				}, &s) == 0);
		for (int seen = 0; (seen = s.started.load()) < n;)
			s.started.wait(seen);
		peak_kib = tldtest::rss_kib();
		if (use_tld) {
			blocks = s.pages;
			peak_resident = resident(blocks);
		}
		s.go = true;
		s.go.notify_all();
		for (auto &t : ts)
			pthread_join(t, nullptr);
		CHECK(s.failed == 0);
	};
	// A spike without libtld first fills glibc's cache of thread stacks, so
	// that the second spike's stacks cost nothing new.
	run(false);
	const long before_kib = tldtest::rss_kib();
	run(true);
	const long after_kib = tldtest::rss_kib();
	const int after_resident = resident(blocks);
	WARN("RSS before " << before_kib << " KiB, at the peak " << peak_kib << " KiB, after "
			   << after_kib << " KiB (" << n << " threads); blocks resident at the peak "
			   << peak_resident << ", after " << after_resident);
	CHECK(peak_resident == n);		// every thread's block was in memory
	CHECK(after_resident <= 64);		// only the pool's cache still is
	pthread_attr_destroy(&attr);
}

TEST_CASE("task storage maps with UPTR fields of another shape are refused before anything is written")
{
	tldtest::odd_maps odd;
	REQUIRE(tld_data(k_value));
	for (const char *name : {"small_slots", "count32", "short_page", "no_slot_array", "swapped"}) {
		INFO(name);
		const int fd = odd.shaped(name);
		REQUIRE(fd >= 0);
		errno = 0;
		CHECK(tld_map_register(fd) == -EINVAL);
		CHECK(errno == EINVAL);
		CHECK(tld_get_data(fd, k_value) == nullptr);
		CHECK_FALSE(tldtest::has_element(fd));
	}
}

TEST_CASE("a registration of one owner is not removed by another owner's unregistration or tld::map destructor")
{
	reader r(reader::verify);
	const int fd = r.data_map_fd();
	auto *p = static_cast<std::uint64_t *>(tld_data(k_value));
	REQUIRE(p);
	*p = 0x0a;
	auto seen = [&] {
		auto rd = r.read({{"reg.value", 8}});
		return rd.err == 0 && rd.items[0].value == bytes_of(*p);
	};
	REQUIRE(tld_map_register(fd) == 0);	// owner A, the C API
	{
		tld::map b(fd);			// owner B, a C++ object
		CHECK(seen());
	}
	CHECK(seen());
	REQUIRE(tld_map_register(fd) == 0);	// owner C registers and unregisters
	REQUIRE(tld_map_unregister(fd) == 0);
	CHECK(seen());
	REQUIRE(tld_map_unregister(fd) == 0);	// A's own: the last one
	CHECK_FALSE(tldtest::has_element(fd));
	CHECK(r.read({{"reg.value", 8}}).err == -ENODATA);
	CHECK(tld_map_unregister(fd) == -ENOENT);
}

TEST_CASE("TLD_MAP's registration is removed by no tld_map_unregister and by tld_map_unregister_path")
{
	reader r(reader::verify);
	const int fd = r.data_map_fd();
	tldtest::pin pinned(fd, "owners-env");
	// A fresh process: TLD_MAP is read at the first use of libtld.
	CHECK(tldtest::in_child([&] {
		setenv("TLD_MAP", pinned.path.c_str(), 1);
		auto *q = static_cast<std::uint64_t *>(tld_data(k_value));
		if (!q)
			return 1;
		*q = 0x0b;
		int rc = 0;
		if (tld_map_register(fd) || tld_map_unregister(fd))	// another owner
			rc |= 2;
		if (tld_map_unregister(fd) != -ENOENT)	// one that never registered
			rc |= 4;
		if (!tldtest::has_element(fd))
			rc |= 8;
		if (tld_map_unregister_path(pinned.path.c_str()) || tldtest::has_element(fd))
			rc |= 16;
		return rc;
	}) == 0);
}

namespace {

// Threads that hold a block with a value of their own and wait.
struct writers {
	explicit writers(int n) : vals(static_cast<std::size_t>(n)), tids(static_cast<std::size_t>(n))
	{
		for (int i = 0; i < n; ++i)
			ts.emplace_back([this, i] {
				auto *p = static_cast<std::uint64_t *>(tld_data(k_value));
				if (p)
					*p = 0x7000u + static_cast<unsigned>(i);
				vals[static_cast<std::size_t>(i)] = p ? *p : 0;
				tids[static_cast<std::size_t>(i)] = tldtest::gettid_();
				ready.fetch_add(1);
				ready.notify_all();
				done.wait(false);
			});
		for (int seen; (seen = ready.load()) < n;)
			ready.wait(seen);
	}
	~writers()
	{
		done = true;
		done.notify_all();
		for (auto &t : ts)
			t.join();
	}
	// Every writer is seen by `r` with its own value; "" when so.
	std::string check(const reader &r) const
	{
		auto seen = r.read_process(getpid(), {{"reg.value", 8}}, tldtest::twice);
		for (std::size_t i = 0; i < tids.size(); ++i) {
			bool ok = false;
			for (const auto &s : seen)
				if (s.tid == tids[i])
					ok = s.has_elem && s.items[0].value == bytes_of(vals[i]);
			if (!ok)
				return "thread " + std::to_string(tids[i]) + " not seen with its value";
		}
		return {};
	}
	std::vector<std::uint64_t> vals;
	std::vector<pid_t> tids;
	std::vector<std::thread> ts;
	std::atomic<int> ready{0};
	std::atomic<bool> done{false};
};

__u32 map_id(int fd)
{
	bpf_map_info info = {};
	__u32 len = sizeof(info);
	return bpf_map_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

// The kernel frees a map once nothing holds it; the programs of a closed
// object drop their hold after an RCU grace period, so wait for it.
bool map_gone(__u32 id)
{
	for (int i = 0; i < 200; ++i) {
		int fd = bpf_map_get_fd_by_id(id);
		if (fd < 0)
			return true;
		close(fd);
		usleep(10000);
	}
	return false;
}

} // namespace

TEST_CASE("a writer registered by path follows 20 restarts of its consumer and lets every old map go")
{
	std::unique_ptr<reader> consumer;
	std::optional<tldtest::pin> pinned;
	// The consumer (re)starts with a new map at the same pin.
	auto start_consumer = [&] {
		pinned.reset();
		consumer = std::make_unique<reader>(reader::probe);
		pinned.emplace(consumer->data_map_fd(), "follow");
	};
	start_consumer();
	const std::string path = pinned->path;
	int fd = tld_map_open(path.c_str());
	REQUIRE(fd >= 0);
	close(fd);
	writers w(3);
	REQUIRE(w.check(*consumer) == "");
	tldtest::hold_reserve();
	const int fds0 = tldtest::count_fds();
	std::vector<std::string> failures;
	for (int i = 0; i < 20; ++i) {
		const __u32 old_id = map_id(consumer->data_map_fd());
		start_consumer();
		const int err = tld_thread_init();	// where libtld looks again
		std::string f = w.check(*consumer);
		if (err)
			f = "tld_thread_init() = " + std::to_string(err);
		else if (!map_gone(old_id))
			f = "the old map is still held";
		else if (tldtest::count_fds() != fds0)
			f = std::to_string(tldtest::count_fds() - fds0) + " descriptors more";
		if (!f.empty())
			failures.push_back("restart " + std::to_string(i + 1) + ": " + f);
	}
	INFO(failures.size() << " restarts failed");
	REQUIRE_NO_FAILURES(failures);

	// Opening the path again looks at once, too; a new thread looks when a
	// second has passed since the last look.
	start_consumer();
	fd = tld_map_open(path.c_str());
	REQUIRE(fd >= 0);
	close(fd);
	CHECK(w.check(*consumer) == "");
	start_consumer();
	sleep(1);
	std::thread([] { tld_data(k_value); }).join();
	CHECK(w.check(*consumer) == "");
	// Both tld_map_open() calls are undone by their path.
	CHECK(tld_map_unregister_path(path.c_str()) == 0);
	CHECK(tld_map_unregister_path(path.c_str()) == 0);
	CHECK(consumer->threads_with_element(getpid()).empty());
	CHECK(tld_map_unregister_path(path.c_str()) == -ENOENT);
}

TEST_CASE("with no descriptor left unregistering deletes every element and the pages of exiting threads are reused")
{
	reader r(reader::probe);
	const int fd = r.data_map_fd();
	REQUIRE(tld_map_register(fd) == 0);
	// Every descriptor the process may still open, taken; given back later.
	struct no_fds {
		std::vector<int> fds;
		no_fds()
		{
			for (int f; (f = dup(0)) >= 0;)
				fds.push_back(f);
		}
		~no_fds()
		{
			for (int f : fds)
				close(f);
		}
	};
	{
		writers w(4);
		int err;
		{
			no_fds none;
			err = tld_map_unregister(fd);
		}
		CHECK(err == 0);
		CHECK(r.threads_with_element(getpid()).empty());
	}

	// Threads that exit while the process has no descriptor left give
	// their pages back: the next threads get the same pages.
	REQUIRE(tld_map_register(fd) == 0);
	const std::uintptr_t mask = ~static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE) - 1);
	// Plain pthreads: a std::thread's end makes a virtual call that
	// UBSan's vptr check cannot verify without a descriptor to spare.
	struct crowd {
		std::uintptr_t mask;
		std::vector<std::uintptr_t> pages;
		std::atomic<int> ready{0};
		std::atomic<bool> leave{false};
	};
	auto pages_of = [&](int n, std::function<void()> while_alive) {
		crowd c;
		c.mask = mask;
		c.pages.resize(static_cast<std::size_t>(n));
		std::vector<pthread_t> ts(static_cast<std::size_t>(n));
		for (auto &t : ts)
			REQUIRE(pthread_create(&t, nullptr, [](void *arg) -> void * {
					auto *c = static_cast<crowd *>(arg);
					const auto page = reinterpret_cast<std::uintptr_t>(tld_data(k_value)) & c->mask;
					c->pages[static_cast<std::size_t>(c->ready.fetch_add(1))] = page;
					c->ready.notify_all();
					c->leave.wait(false);
					return nullptr;
				}, &c) == 0);
		for (int seen; (seen = c.ready.load()) < n;)
			c.ready.wait(seen);
		while_alive();
		c.leave = true;
		c.leave.notify_all();
		for (auto &t : ts)
			pthread_join(t, nullptr);
		return std::set<std::uintptr_t>(c.pages.begin(), c.pages.end());
	};
	std::unique_ptr<no_fds> none;
	auto first = pages_of(32, [&] { none = std::make_unique<no_fds>(); });
	none.reset();	// the threads exited with no descriptor to spare
	auto second = pages_of(32, [] {});
	CHECK(first.size() == 32);
	std::size_t reused = 0;
	for (auto p : second)
		reused += first.count(p);
	CHECK(reused == second.size());
}

namespace {

std::vector<std::string> g_said;
void collect(const char *message) { g_said.emplace_back(message); }

// Fail to register in the ways a user meets; what the process said on
// standard error (a forked child with TLD_LOG as given).
std::string stderr_of_failures(const tldtest::odd_maps &odd, const char *tld_log)
{
	int p[2];
	if (pipe(p))
		throw std::runtime_error("pipe");
	pid_t pid = fork();
	if (pid < 0)
		throw std::runtime_error("fork");
	if (pid == 0) {
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		if (tld_log)
			setenv("TLD_LOG", tld_log, 1);
		else
			unsetenv("TLD_LOG");
		tld_map_register(odd.prog());
		tld_map_register(odd.array16());
		tld_map_open("/sys/fs/bpf/tld-test-no-such-pin");
		_exit(0);
	}
	close(p[1]);
	std::string out;
	char buf[512];
	for (ssize_t n; (n = read(p[0], buf, sizeof(buf))) > 0;)
		out.append(buf, static_cast<std::size_t>(n));
	close(p[0]);
	if (const int st = tldtest::wait_status(pid); st != 0)
		throw std::runtime_error("the child that failed to register ended with " +
					 std::to_string(st));
	return out;
}

bool said(const std::string &text)
{
	for (const auto &m : g_said)
		if (m.find(text) != std::string::npos)
			return true;
	return false;
}

} // namespace

TEST_CASE("each registration failure is said once with what was wrong and nothing is said by default")
{
	tldtest::odd_maps odd;
	CHECK(stderr_of_failures(odd, nullptr) == "");
	CHECK(stderr_of_failures(odd, "0") == "");
	const std::string logged = stderr_of_failures(odd, "1");
	INFO("with TLD_LOG=1: " << logged);
	CHECK(logged.find("a program, not a map") != std::string::npos);
	CHECK(logged.find("not a task storage map: an array map") != std::string::npos);
	CHECK(logged.find("/sys/fs/bpf/tld-test-no-such-pin: no such pin") != std::string::npos);

	REQUIRE(tld_set_print(collect) == nullptr);
	tldtest::pin prog(odd.prog(), "diag-prog");
	CHECK(tld_map_open(prog.path.c_str()) == -EINVAL);
	CHECK(tld_map_register(odd.array16()) == -EINVAL);
	CHECK(tld_map_register(odd.variant_c()) == -EINVAL);
	CHECK(tld_map_open("/sys/fs/bpf/tld-test-no-such-pin") == -ENOENT);
	INFO("said: " << g_said.size() << " lines");
	CHECK(said(prog.path + ": a program, not a map"));
	CHECK(said("not a task storage map: an array map"));
	CHECK(said("a task storage map of another layout"));
	CHECK(said("/sys/fs/bpf/tld-test-no-such-pin: no such pin"));
	const std::size_t n = g_said.size();
	CHECK(n == 4);
	CHECK(tld_map_open(prog.path.c_str()) == -EINVAL);	// the same again: not said again
	CHECK(tld_map_register(odd.array16()) == -EINVAL);
	CHECK(g_said.size() == n);
	for (const auto &m : g_said)
		CHECK((m.rfind("libtld: ", 0) == 0 && m.back() == '\n'));
	CHECK(tld_set_print(nullptr) == collect);
}

TEST_CASE("after a registered process exits no task has an element in the map")
{
	reader r(reader::probe);
	tldtest::pin pinned(r.data_map_fd(), "process-exit");
	auto with_element = [&] {
		int n = 0;
		for (const auto &t : r.read_process(0))	// every task of the system
			n += t.has_elem;
		return n;
	};
	REQUIRE(with_element() == 0);
	int up[2], down[2];
	REQUIRE(pipe(up) == 0);
	REQUIRE(pipe(down) == 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		setenv("TLD_MAP", pinned.path.c_str(), 1);
		std::vector<std::thread> ts;
		std::atomic<bool> stop{false};
		std::atomic<int> ready{0};
		for (int i = 0; i < 3; ++i)
			ts.emplace_back([&] {
				tld_data(k_value);
				ready.fetch_add(1);
				stop.wait(false);
			});
		if (tld_thread_init() != 0)
			_exit(1);
		while (ready.load() < 3)
			usleep(1000);
		char go;
		if (write(up[1], "R", 1) != 1 || read(down[0], &go, 1) != 1)
			_exit(2);
		_exit(0);	// no destructor runs: the kernel frees the tasks
	}
	close(up[1]);
	close(down[0]);
	char c = 0;
	REQUIRE(read(up[0], &c, 1) == 1);
	CHECK(with_element() == 4);	// the process's four threads
	REQUIRE(write(down[1], "G", 1) == 1);
	close(up[0]);
	close(down[1]);
	CHECK(tldtest::wait_status(pid) == 0);
	int left = 0;
	for (int i = 0; i < 100 && (left = with_element()) != 0; ++i)
		usleep(10000);	// tasks are freed after an RCU grace period
	CHECK(left == 0);
}

namespace {

// In the calling thread only, from now on: the system calls that libtld's
// slow paths make fail with EPERM (its lock's futex is not among them).
bool deny_slow_path_syscalls()
{
	// Not mmap(): the sanitizers' allocators map memory for the test's own
	// strings.  The library's slow paths take pages only with a new block.
	static const int denied[] = {SYS_bpf, SYS_fcntl, SYS_readlink, SYS_readlinkat,
				     SYS_pidfd_open, SYS_close, SYS_openat};
	std::vector<sock_filter> f;
	f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
	const auto n = static_cast<unsigned char>(sizeof(denied) / sizeof(denied[0]));
	for (unsigned char i = 0; i < n; ++i)
		f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<__u32>(denied[i]),
				     static_cast<unsigned char>(n - i), 0));
	f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
	sock_fprog prog = {static_cast<unsigned short>(f.size()), f.data()};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return false;
	// The filter is on: this one must fail.
	return syscall(SYS_fcntl, 0, F_GETFD) == -1 && errno == EPERM;
}

} // namespace

TEST_CASE("tld_get_data and tld_data of a thread registered in 8 maps through 24 descriptors (8 of them 64 and up) make no system call in any order")
{
	// Numbers below 64, taken before the readers' objects take theirs.
	std::vector<int> low;
	for (int i = 0; i < 2 * TLD_MAPS_MAX; ++i)
		low.push_back(open("/dev/null", O_RDONLY | O_CLOEXEC));
	std::vector<std::unique_ptr<reader>> maps;
	std::vector<int> fds;	// per map: two numbers below 64, one of 100 and up
	for (std::size_t i = 0; i < TLD_MAPS_MAX; ++i) {
		maps.push_back(std::make_unique<reader>(reader::probe));
		const int own = maps.back()->data_map_fd();
		fds.push_back(dup3(own, low[2 * i], O_CLOEXEC));
		fds.push_back(dup3(own, low[2 * i + 1], O_CLOEXEC));
		fds.push_back(fcntl(own, F_DUPFD_CLOEXEC, 100));
	}
	struct closer {
		std::vector<int> &fds;
		~closer()
		{
			for (int fd : fds)
				close(fd);
		}
	} close_dups{fds};
	for (std::size_t i = 0; i < fds.size(); ++i)
		REQUIRE((i % 3 == 2 ? fds[i] >= 100 : fds[i] >= 0 && fds[i] < 64));
	CHECK(tldtest::in_thread([&]() -> std::string {
		auto *p = static_cast<std::uint64_t *>(tld_data(k_value));
		for (int fd : fds)
			if (tld_get_data(fd, k_value) != p)
				return "tld_get_data() did not register the thread";
		if (!deny_slow_path_syscalls())
			return "the seccomp filter could not be set";
		for (std::size_t i = 0; i < 2000; ++i) {
			const int fd = fds[i * 7 % fds.size()];
			if (tld_get_data(fd, k_value) != p || tld_data(k_value) != p)
				return "a call with descriptor " + std::to_string(fd) +
				       " went to the kernel (" + std::to_string(errno) + ")";
		}
		return {};
	}) == "");
}

TEST_CASE("a descriptor number passed to tld_map_register is checked again by every thread that remembered it")
{
	reader a(reader::probe), b(reader::probe), c(reader::probe);
	const int n = fcntl(a.data_map_fd(), F_DUPFD_CLOEXEC, 0);
	REQUIRE(n >= 0);
	const int other = c.data_map_fd();
	std::atomic<int> step{0};
	std::string failure;
	std::thread t([&] {
		auto *p = static_cast<std::uint64_t *>(tld_data(k_value));
		if (!p || tld_get_data(n, k_value) != p || tld_get_data(other, k_value) != p ||
		    !deny_slow_path_syscalls())
			failure = "setup";
		else if (tld_get_data(n, k_value) != p)
			failure = "not remembered";
		step = 1;
		step.notify_all();
		step.wait(1);
		// The number now names map b: this thread may not trust it without
		// asking the kernel, which its filter refuses (the library's first
		// question, fcntl(), fails: EBADF).
		errno = 0;
		if (tld_get_data(n, k_value) != nullptr || errno != EBADF)
			failure = "the reused number was trusted (errno " + std::to_string(errno) + ")";
		else if (tld_get_data(other, k_value) != p)
			failure = "another number was forgotten";
	});
	step.wait(0);
	REQUIRE(dup3(b.data_map_fd(), n, O_CLOEXEC) == n);	// a's number, now b's
	CHECK(tld_map_register(n) == 0);
	step = 2;
	step.notify_all();
	t.join();
	CHECK(failure == "");
	CHECK(tld_map_unregister(n) == 0);
	close(n);
}

TEST_CASE("a map that another owner let go is registered again by the thread's next tld_get_data")
{
	reader r(reader::probe);
	const int fd = r.data_map_fd();
	std::atomic<int> step{0};
	std::string failure;
	std::thread t([&] {
		if (!tld_get_data(fd, k_value) || !tldtest::has_element(fd))
			failure = "not registered by tld_get_data()";
		step = 1;
		step.notify_all();
		step.wait(1);
		// The registration tld_get_data() made is gone; the fast path must
		// not answer for a map the thread is no longer in.
		if (tldtest::has_element(fd))
			failure = "still in the map after the unregistration";
		else if (!tld_get_data(fd, k_value) || !tldtest::has_element(fd))
			failure = "not registered again";
	});
	step.wait(0);
	CHECK(tld_map_unregister(fd) == 0);
	step = 2;
	step.notify_all();
	t.join();
	CHECK(failure == "");
}
