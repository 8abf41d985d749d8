// Running test bodies on other threads: Catch2 cannot assert off the main
// thread, so a body returns a failure text ("" when it passed).
#pragma once

#include <exception>
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
