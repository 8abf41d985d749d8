// Coroutines and the threads that run them: a TLD belongs to the thread, so
// a coroutine resumed on another thread sees that thread's value, unless
// whoever resumes it sets the hint for the step, as the README shows with
// an executor hook.
#include <tld/tld.hpp>

#include <catch2/catch_test_macros.hpp>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <thread>
#include <utility>
#include <vector>

namespace {

TLD_KEY(std::uint64_t, request_id, "coroutine.request_id");

// A coroutine that stops at each co_await and goes on when its handle is
// resumed, on whatever thread does it.
struct job {
	struct promise_type {
		job get_return_object()
		{
			return job{std::coroutine_handle<promise_type>::from_promise(*this)};
		}
		std::suspend_always initial_suspend() noexcept { return {}; }
		std::suspend_always final_suspend() noexcept { return {}; }
		void return_void() noexcept {}
		void unhandled_exception() noexcept { std::terminate(); }
	};

	explicit job(std::coroutine_handle<promise_type> h) : handle(h) {}
	job(const job &) = delete;
	job &operator=(const job &) = delete;
	~job() { handle.destroy(); }

	std::coroutine_handle<promise_type> handle;
};

// The calling thread's value; 0 when the thread has no block.
std::uint64_t hint()
{
	const std::uint64_t *p = request_id.get();
	return p ? *p : 0;
}

void set_hint(std::uint64_t v)
{
	std::uint64_t *p = request_id.get();
	REQUIRE(p);
	*p = v;
}

// Each step records the hint it saw, then waits to be resumed.
job serve(std::vector<std::uint64_t> &seen, int steps)
{
	for (int i = 0; i < steps; ++i) {
		seen.push_back(hint());
		co_await std::suspend_always{};
	}
}

// The executor hook of the README: the job's hint for one step, on the
// thread that runs the step; the thread's own value comes back after it.
void run_step(job &j, std::uint64_t id)
{
	tld::scoped<std::uint64_t> step(request_id, id);
	j.handle.resume();
}

} // namespace

TEST_CASE("an executor that sets the hint around each resume makes it follow a coroutine across threads")
{
	std::vector<std::uint64_t> seen, after;
	job j = serve(seen, 3);
	for (std::uint64_t t = 0; t < 3; ++t) {
		std::thread([&] {
			set_hint(100 + t);	// the thread's own value
			run_step(j, 42);
			after.push_back(hint());
		}).join();
	}
	CHECK(seen == std::vector<std::uint64_t>{42, 42, 42});
	CHECK(after == std::vector<std::uint64_t>{100, 101, 102});
}

TEST_CASE("a coroutine resumed on another thread without the hook sees that thread's hint")
{
	std::vector<std::uint64_t> seen;
	job j = serve(seen, 2);
	std::thread([&] {
		set_hint(42);
		j.handle.resume();
	}).join();
	std::thread([&] {
		set_hint(7);
		j.handle.resume();
	}).join();
	// The 42 stayed with the first thread.
	CHECK(seen == std::vector<std::uint64_t>{42, 7});
}
