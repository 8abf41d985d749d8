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
