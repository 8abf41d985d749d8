// Registrations that live as long as their owner: cancellation, thread
// exit order, consumer restarts, several owners, exhausted limits, wrong
// layouts, setuid, retried failures, memory given back, diagnostics.  What
// BPF sees is read through BPF.  Each TEST_CASE runs in a process of its own
// (see meson.build).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch_test_macros.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bpftest.hpp"
#include "tld/tld.h"

using tldtest::bytes_of;
using tldtest::reader;

namespace {

TLD_DEFINE_KEY(k_value, "reg.value", sizeof(std::uint64_t));

// Run `call` in a new thread that has a deferred cancellation pending when
// it calls: the call must complete (its result is returned) and the thread
// must be cancelled at the next cancellation point after it.
struct cancelled_call {
	bool cancelled = false;
	bool returned = false;
	long result = 0;
};

cancelled_call with_pending_cancel(std::function<long()> call)
{
	struct ctx {
		std::function<long()> call;
		std::atomic<int> go{0};
		std::atomic<bool> returned{false};
		std::atomic<long> result{0};
	} c;
	c.call = std::move(call);
	pthread_t t;
	if (pthread_create(&t, nullptr, [](void *arg) -> void * {
		    auto *c = static_cast<ctx *>(arg);
		    while (!c->go.load())
			    ;	// not a cancellation point: the cancel stays pending
		    c->result = c->call();
		    c->returned = true;
		    pthread_testcancel();
		    return nullptr;
	    }, &c))
		throw std::runtime_error("pthread_create");
	pthread_cancel(t);
	c.go = 1;
	void *ret = nullptr;
	pthread_join(t, &ret);
	return {ret == PTHREAD_CANCELED, c.returned.load(), c.result.load()};
}

int wait_exit(pid_t pid)
{
	int status = 0;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

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
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		setenv("TLD_MAP", pinned.path.c_str(), 1);
		auto c = with_pending_cancel([] { return long{tld_data(k_value) != nullptr}; });
		_exit(c.returned && c.cancelled && c.result == 1 ? 0 : 1);
	}
	INFO("tld_data (first, TLD_MAP set) in a fresh process");
	CHECK(wait_exit(pid) == 0);
}

namespace {

// Another library's thread-specific data whose destructor runs after
// libtld's (its key is created later) in every one of glibc's destructor
// rounds, and calls tld_data() in round `late_round`.
pthread_key_t g_other_key;
int g_late_round;
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
	for (int round = 1; round <= PTHREAD_DESTRUCTOR_ITERATIONS; ++round) {
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
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	struct spike {
		bool use_tld;
		std::atomic<int> started{0};
		std::atomic<int> failed{0};
		std::atomic<bool> go{false};
	};
	long peak = 0;
	auto run = [&](bool use_tld) {
		spike s;
		s.use_tld = use_tld;
		std::vector<pthread_t> ts(static_cast<std::size_t>(n));
		for (auto &t : ts)
			REQUIRE(pthread_create(&t, &attr, [](void *arg) -> void * {
					auto *s = static_cast<spike *>(arg);
					if (s->use_tld && !tld_data(k_value))
						s->failed.fetch_add(1);
					s->started.fetch_add(1);
					s->started.notify_one();
					s->go.wait(false);
					return nullptr;
				}, &s) == 0);
		for (int seen = 0; (seen = s.started.load()) < n;)
			s.started.wait(seen);
		peak = tldtest::rss_kib();
		s.go = true;
		s.go.notify_all();
		for (auto &t : ts)
			pthread_join(t, nullptr);
		CHECK(s.failed == 0);
	};
	// A spike without libtld first fills glibc's cache of thread stacks, so
	// that the second spike's stacks cost nothing new.
	run(false);
	const long before = tldtest::rss_kib();
	run(true);
	const long after = tldtest::rss_kib();
	const long page_kib = sysconf(_SC_PAGESIZE) / 1024;
	WARN("RSS before " << before << " KiB, at the peak " << peak << " KiB, after " << after
			   << " KiB (" << n << " threads)");
	CHECK(peak - before >= n * page_kib * 9 / 10);	// the blocks were resident
	CHECK(after - before <= 64 * page_kib + 1024);	// the cache and some slack
	pthread_attr_destroy(&attr);
}
