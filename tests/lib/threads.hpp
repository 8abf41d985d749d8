// Running test bodies on other threads: Catch2 cannot assert off the main
// thread, so a body returns a failure text ("" when it passed).
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tldtest {

// Run `body()` on a new thread and return its failure text.
template <typename F> std::string in_thread(F body)
{
	std::string failure;
	std::thread t([&] {
		try {
			failure = body();
		} catch (const std::exception &e) {
			failure = e.what();
		}
	});
	t.join();
	return failure;
}

// Run `body(i)` on n threads at once; the failure texts, prefixed by thread.
template <typename F> std::vector<std::string> on_threads(int n, F body)
{
	std::vector<std::string> failures(n);
	std::vector<std::thread> ts;
	for (int i = 0; i < n; ++i)
		ts.emplace_back([&, i] {
			try {
				failures[i] = body(i);
			} catch (const std::exception &e) {
				failures[i] = e.what();
			}
		});
	for (auto &t : ts)
		t.join();
	std::vector<std::string> out;
	for (int i = 0; i < n; ++i)
		if (!failures[i].empty())
			out.push_back("thread " + std::to_string(i) + ": " + failures[i]);
	return out;
}

// What with_pending_cancel() saw of its thread.
struct cancelled_call {
	bool cancelled = false;		// the thread ended cancelled
	bool returned = false;		// `call` returned
	long result = 0;		// what it returned
};

// Run `call` in a new thread that has a deferred cancellation pending when
// it calls: the call must complete (its result is returned) and the thread
// must be cancelled at the next cancellation point after it.  Throws when
// the thread cannot be created or cancelled.
inline cancelled_call with_pending_cancel(std::function<long()> call)
{
	struct ctx {
		std::function<long()> call;
		std::atomic<int> go{0};
		std::atomic<bool> returned{false};
		std::atomic<long> result{0};
	} c;
	c.call = std::move(call);
	pthread_t t;
	if (int err = pthread_create(&t, nullptr, [](void *arg) -> void * {
		    auto *c = static_cast<ctx *>(arg);
		    while (!c->go.load())
			    ;	// not a cancellation point: the cancel stays pending
		    c->result = c->call();
		    c->returned = true;
		    pthread_testcancel();
		    return nullptr;
	    }, &c))
		throw std::runtime_error("pthread_create: " + std::to_string(err));
	const int cancel_err = pthread_cancel(t);
	c.go = 1;
	void *ret = nullptr;
	if (int err = pthread_join(t, &ret)) {
		// The thread may still use `c`: nothing can go on.
		std::fprintf(stderr, "pthread_join: %d\n", err);
		std::abort();
	}
	if (cancel_err)
		throw std::runtime_error("pthread_cancel: " + std::to_string(cancel_err));
	return {ret == PTHREAD_CANCELED, c.returned.load(), c.result.load()};
}

} // namespace tldtest

// Failure texts with the empty ones (passes) left out.
inline std::vector<std::string> failed_only(const std::vector<std::string> &v)
{
	std::vector<std::string> out;
	for (const auto &s : v)
		if (!s.empty())
			out.push_back(s);
	return out;
}

#define REQUIRE_NO_FAILURES(v)                                                 \
	do {                                                                   \
		auto _f = failed_only(v);                                      \
		INFO((_f.empty() ? std::string() : _f.front()));               \
		REQUIRE(_f.empty());                                           \
	} while (0)
