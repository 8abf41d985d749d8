// Churn and scale: many threads through two registered maps, and many
// threads with every key at once, read back by BPF.  STRESS_THREADS and
// STRESS_BATCH scale the churn case (the sanitizer runs use fewer threads).
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <barrier>
#include <catch2/catch_test_macros.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bpftest.hpp"
#include "threads.hpp"
#include "tld/tld.h"

namespace {

int env_int(const char *name, int fallback)
{
	const char *s = std::getenv(name);
	return s && *s ? std::atoi(s) : fallback;
}

std::uintptr_t page_of(const void *p)
{
	return reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t(sysconf(_SC_PAGESIZE) - 1);
}

std::string sorted_tids(std::vector<pid_t> v)
{
	std::sort(v.begin(), v.end());
	std::string s;
	for (std::size_t i = 0; i < v.size() && i < 8; ++i)
		s += std::to_string(v[i]) + " ";
	return s + "(" + std::to_string(v.size()) + ")";
}

} // namespace

TEST_CASE("20000 threads that take a block and write and exit leave no element and no descriptor and reuse their pages")
{
	const int total = env_int("STRESS_THREADS", 20000);
	const int batch = env_int("STRESS_BATCH", 100);
	tldtest::reader a(tldtest::reader::probe), b(tldtest::reader::probe_exact);
	tld_key_t k = tld_create_key("stress.value", 8);
	REQUIRE(!tld_key_is_err(k));
	REQUIRE(tld_map_register(a.data_map_fd()) == 0);
	REQUIRE(tld_map_register(b.data_map_fd()) == 0);
	const std::vector<tldtest::spec> spec = {{"stress.value", 8}};
	const int fds0 = tldtest::count_fds();
	long rss_first_batch = 0;

	std::vector<std::uintptr_t> pages(static_cast<std::size_t>(total));
	std::vector<std::string> failures(static_cast<std::size_t>(batch));
	std::vector<pid_t> tids(static_cast<std::size_t>(batch));
	std::string first_failure;
	int batches = 0;
	for (int base = 0; base < total && first_failure.empty(); base += batch, ++batches) {
		const int n = std::min(batch, total - base);
		std::barrier sync(n + 1);
		std::vector<std::thread> ts;
		for (int i = 0; i < n; ++i)
			ts.emplace_back([&, i] {
				const int idx = base + i;
				std::string &f = failures[static_cast<std::size_t>(i)];
				f.clear();
				tids[static_cast<std::size_t>(i)] = tldtest::gettid_();
				try {
					if (int r = tld_thread_init())
						f = "tld_thread_init() = " + std::to_string(r);
					auto *p = static_cast<std::uint64_t *>(tld_data(k));
					if (!p) {
						f = "tld_data() failed: " + std::string(std::strerror(errno));
					} else {
						*p = 0x57000000u + static_cast<unsigned>(idx);
						pages[static_cast<std::size_t>(idx)] = page_of(p);
						if (f.empty() && idx % 16 == 0) {
							for (const tldtest::reader *o : {&a, &b}) {
								auto rd = o->read(spec, 0);
								if (rd.items[0].found != 1 ||
								    rd.items[0].value != tldtest::bytes_of(*p))
									f = "BPF does not read the value";
							}
						}
					}
				} catch (const std::exception &e) {
					f = e.what();
				}
				sync.arrive_and_wait();	// the batch is alive
				sync.arrive_and_wait();	// checked
			});
		sync.arrive_and_wait();
		if (batches % 20 == 0) {
			// Exactly the live threads have elements, in both maps.
			std::vector<pid_t> want(tids.begin(), tids.begin() + n);
			std::sort(want.begin(), want.end());
			for (const tldtest::reader *o : {&a, &b}) {
				auto with = o->threads_with_element(getpid());
				std::sort(with.begin(), with.end());
				if (with != want && first_failure.empty())
					first_failure = "batch " + std::to_string(batches) +
							": threads with an element " + sorted_tids(with) +
							", live threads " + sorted_tids(want);
			}
		}
		sync.arrive_and_wait();
		for (auto &t : ts)
			t.join();
		for (int i = 0; i < n && first_failure.empty(); ++i)
			if (!failures[static_cast<std::size_t>(i)].empty())
				first_failure = "thread " + std::to_string(base + i) + ": " +
						failures[static_cast<std::size_t>(i)];
		if (batches == 0)
			rss_first_batch = tldtest::rss_kib();
	}
	INFO(first_failure);
	REQUIRE(first_failure.empty());

	// No thread is left in either map; every descriptor was closed.
	CHECK(a.threads_with_element(getpid()).empty());
	CHECK(b.threads_with_element(getpid()).empty());
	CHECK(tldtest::count_fds() == fds0);
	// Pages went back to the pool: the threads shared about one batch of them.
	std::set<std::uintptr_t> distinct(pages.begin(), pages.end());
	INFO(distinct.size() << " distinct pages for " << total << " threads in batches of "
			      << batch);
	CHECK(distinct.size() <= static_cast<std::size_t>(batch) + 64);
	const long growth = tldtest::rss_kib() - rss_first_batch;
	INFO("RSS grew by " << growth << " KiB after the first batch");
	CHECK(growth < 32 * 1024);
	REQUIRE(tld_map_unregister(a.data_map_fd()) == 0);
	REQUIRE(tld_map_unregister(b.data_map_fd()) == 0);
}

namespace {

std::size_t key_size(int i) { return 1 + static_cast<std::size_t>(i * 13) % tldtest::value_max; }
std::string key_name(int i) { return "stress.key." + std::to_string(i); }
std::uint8_t pattern(pid_t tid, int key, std::size_t byte)
{
	return static_cast<std::uint8_t>(tid * 31 + key * 7 + static_cast<int>(byte) + 1);
}

std::string compare(const tldtest::reading &r, pid_t tid)
{
	if (r.err)
		return "tld_object_init() = " + std::to_string(r.err);
	for (int i = 0; i < TLD_KEYS_MAX; ++i) {
		const auto &it = r.items[static_cast<std::size_t>(i)];
		if (it.found != 1)
			return key_name(i) + ": found " + std::to_string(it.found);
		for (std::size_t j = 0; j < key_size(i); ++j)
			if (it.value[j] != pattern(tid, i, j))
				return key_name(i) + ": byte " + std::to_string(j) + " differs";
	}
	return {};
}

} // namespace

TEST_CASE("1000 threads alive at once with 63 keys are all read correctly by BPF")
{
	const int n = env_int("STRESS_ALIVE", 1000);
	tldtest::reader obj;
	std::vector<tld_key_t> keys;
	std::vector<tldtest::spec> specs;
	for (int i = 0; i < TLD_KEYS_MAX; ++i) {
		keys.push_back(tld_create_key(key_name(i).c_str(), key_size(i)));
		REQUIRE(!tld_key_is_err(keys.back()));
		specs.push_back({key_name(i), key_size(i)});
	}
	REQUIRE(tld_map_register(obj.data_map_fd()) == 0);
	std::barrier sync(n + 1);
	std::vector<std::string> failures(static_cast<std::size_t>(n));
	std::vector<std::thread> ts;
	for (int t = 0; t < n; ++t)
		ts.emplace_back([&, t] {
			std::string &f = failures[static_cast<std::size_t>(t)];
			const pid_t tid = tldtest::gettid_();
			try {
				if (int r = tld_thread_init())
					f = "tld_thread_init() = " + std::to_string(r);
				for (int i = 0; i < TLD_KEYS_MAX && f.empty(); ++i) {
					auto *p = static_cast<std::uint8_t *>(tld_data(keys[static_cast<std::size_t>(i)]));
					if (!p) {
						f = "tld_data() failed";
						break;
					}
					for (std::size_t j = 0; j < key_size(i); ++j)
						p[j] = pattern(tid, i, j);
				}
			} catch (const std::exception &e) {
				f = e.what();
			}
			sync.arrive_and_wait();	// every thread wrote
			try {
				if (f.empty())
					f = compare(obj.read(specs), tid);
			} catch (const std::exception &e) {
				f = e.what();
			}
			sync.arrive_and_wait();	// every thread read itself
			sync.arrive_and_wait();	// the main thread read them all
		});
	sync.arrive_and_wait();
	sync.arrive_and_wait();
	// All of them at once, through the task iterator.
	std::string iter_failure;
	int with_elem = 0;
	try {
		for (const auto &r : obj.read_process(getpid(), specs)) {
			if (!r.has_elem)
				continue;
			++with_elem;
			if (auto m = compare(r, r.tid); !m.empty() && iter_failure.empty())
				iter_failure = "thread " + std::to_string(r.tid) + ": " + m;
		}
	} catch (const std::exception &e) {
		iter_failure = e.what();
	}
	sync.arrive_and_wait();
	for (auto &t : ts)
		t.join();
	std::string first;
	for (int t = 0; t < n && first.empty(); ++t)
		if (!failures[static_cast<std::size_t>(t)].empty())
			first = "thread " + std::to_string(t) + ": " + failures[static_cast<std::size_t>(t)];
	INFO(first);
	CHECK(first.empty());
	INFO(iter_failure);
	CHECK(iter_failure.empty());
	CHECK(with_elem == n);
	CHECK(obj.threads_with_element(getpid()).empty());
}
