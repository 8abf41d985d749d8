// Concurrent key creation.  A process can publish at most 63 keys, so every
// round runs in a fresh child process: the parent (this Catch2 process) never
// calls libtld itself, and fork() gives each child an untouched library.
#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "unit_common.hpp"

namespace {

using tldtest::child_fail;
using tldtest::in_child;

constexpr int n_threads = 60;
constexpr int n_rounds = 100;
constexpr int n_names = 40;

std::size_t size_of(int name) { return 1 + static_cast<std::size_t>(name * 7) % 24; }
std::string name_of(int name) { return "race.key." + std::to_string(name); }

constexpr std::size_t reserve = 1024;	// more than the 40 names' rounded sizes

// One round, in the child.  Returns the child's exit status.  Odd rounds race
// after the layout is frozen (the child took its block first), even rounds
// before any block exists.
int race_round(int round)
{
	if (int r = tld_set_dyn_data_size(reserve))
		return child_fail("round %d: tld_set_dyn_data_size(%zu) = %d", round, reserve, r);
	if (round % 2) {
		if (int r = tld_thread_init())
			return child_fail("round %d: tld_thread_init() = %d", round, r);
	}
	std::vector<std::string> names;
	for (int i = 0; i < n_names; ++i)
		names.push_back(name_of(i));

	// got[t][i]: what thread t got for name i; err[t][i]: errno after it.
	std::vector<std::vector<int>> got(n_threads, std::vector<int>(n_names, 1));
	std::vector<std::vector<int>> err(n_threads, std::vector<int>(n_names, 0));
	std::barrier start(n_threads);
	std::vector<std::thread> ts;
	for (int t = 0; t < n_threads; ++t)
		ts.emplace_back([&, t] {
			std::vector<int> order(n_names);
			for (int i = 0; i < n_names; ++i)
				order[i] = i;
			std::mt19937 rng(static_cast<unsigned>(round * 1000 + t));
			std::shuffle(order.begin(), order.end(), rng);
			start.arrive_and_wait();
			for (int i : order) {
				errno = 0;
				got[t][i] = tld_create_key(names[i].c_str(), size_of(i)).off;
				err[t][i] = errno;
			}
		});
	for (auto &t : ts)
		t.join();

	std::vector<std::pair<int, int>> ranges;	// [off, off + TLD_LAYOUT_ROUND(size))
	for (int i = 0; i < n_names; ++i) {
		int winner = -1, winners = 0;
		for (int t = 0; t < n_threads; ++t) {
			const int v = got[t][i];
			if (v >= 0) {
				++winners;
				winner = v;
			} else if (v != -EEXIST || err[t][i] != EEXIST) {
				return child_fail("round %d: thread %d creating %s got %d errno %d, "
						  "expected a key or -EEXIST with errno EEXIST",
						  round, t, names[i].c_str(), v, err[t][i]);
			}
		}
		if (winners != 1)
			return child_fail("round %d: %s has %d winners, expected exactly 1",
					  round, names[i].c_str(), winners);
		if (winner % 8)
			return child_fail("round %d: %s at offset %d, not 8-aligned", round,
					  names[i].c_str(), winner);
		const int found = tld_find_key(names[i].c_str(), size_of(i)).off;
		if (found != winner)
			return child_fail("round %d: tld_find_key(%s) = %d, the winner got %d",
					  round, names[i].c_str(), found, winner);
		ranges.emplace_back(winner, winner + static_cast<int>(TLD_LAYOUT_ROUND(size_of(i))));
	}
	std::sort(ranges.begin(), ranges.end());
	for (std::size_t i = 1; i < ranges.size(); ++i)
		if (ranges[i].first < ranges[i - 1].second)
			return child_fail("round %d: ranges [%d,%d) and [%d,%d) overlap", round,
					  ranges[i - 1].first, ranges[i - 1].second, ranges[i].first,
					  ranges[i].second);
	// Every key is usable, at its own address inside the thread's page.
	for (int i = 0; i < n_names; ++i) {
		tld_key_t k = tld_find_key(names[i].c_str(), size_of(i));
		auto *p = static_cast<unsigned char *>(tld_data(k));
		if (!p)
			return child_fail("round %d: tld_data(%s) failed, errno %d", round,
					  names[i].c_str(), errno);
		const std::uintptr_t page = tldtest::block_page(p, k.off);
		if (page % tldtest::page_size() ||
		    reinterpret_cast<std::uintptr_t>(p) + size_of(i) > page + tldtest::page_size())
			return child_fail("round %d: %s at offset %d runs past its page", round,
					  names[i].c_str(), k.off);
		std::fill(p, p + size_of(i), static_cast<unsigned char>(i + 1));
	}
	for (int i = 0; i < n_names; ++i) {
		auto *p = static_cast<unsigned char *>(
			tld_data(tld_find_key(names[i].c_str(), size_of(i))));
		if (!std::all_of(p, p + size_of(i), [&](unsigned char c) { return c == i + 1; }))
			return child_fail("round %d: %s was overwritten by another key", round,
					  names[i].c_str());
	}
	return 0;
}

} // namespace

TEST_CASE("racing creators of the same names get one winner per name and disjoint aligned ranges")
{
	for (int round = 0; round < n_rounds; ++round) {
		const int st = in_child([round] { return race_round(round); });
		INFO("round " << round << ": child exit status " << st
			      << " (1: a check failed, see stderr; >128: killed by a signal)");
		REQUIRE(st == 0);
	}
}

// A loser learns the winner's key through tld_find_key() as soon as the name
// is visible; that key must work in tld_data() at once ("Copy it freely; it
// stays valid for the life of the process").
int find_then_use_round(int round)
{
	if (int r = tld_set_dyn_data_size(reserve))
		return child_fail("round %d: tld_set_dyn_data_size(%zu) = %d", round, reserve, r);
	constexpr int n_keys = 60;
	std::atomic<bool> done{false};
	std::atomic<int> failures{0};
	std::barrier start(3);
	auto seeker = [&] {
		start.arrive_and_wait();
		for (int i = 1; i < n_keys; ++i) {
			const std::string name = "race.seek." + std::to_string(i);
			tld_key_t k;
			do
				k = tld_find_key(name.c_str(), 8);
			while (k.off == -ENOENT && !done.load());
			if (k.off < 0)
				break;
			errno = 0;
			if (!tld_data(k)) {
				std::fprintf(stderr,
					     "round %d: tld_find_key(%s) = %d, but tld_data() of it "
					     "failed with errno %d\n",
					     round, name.c_str(), k.off, errno);
				failures.fetch_add(1);
			}
		}
	};
	tld_key_t first = tld_create_key("race.seek.0", 8);
	if (first.off != 0)
		return child_fail("round %d: first key %d", round, first.off);
	// The seekers take their blocks first, so that tld_data() only has to
	// recognise the key.
	std::thread s1([&] {
		tld_data(first);
		seeker();
	});
	std::thread s2([&] {
		tld_data(first);
		seeker();
	});
	start.arrive_and_wait();
	for (int i = 1; i < n_keys; ++i) {
		const std::string name = "race.seek." + std::to_string(i);
		if (tld_create_key(name.c_str(), 8).off < 0)
			return child_fail("round %d: creating %s failed", round, name.c_str());
	}
	done.store(true);
	s1.join();
	s2.join();
	return failures.load() ? 1 : 0;
}

TEST_CASE("a key from tld_find_key works in tld_data as soon as tld_find_key returns it")
{
	for (int round = 0; round < 1000; ++round) {
		const int st = in_child([round] { return find_then_use_round(round); });
		INFO("round " << round << ": child exit status " << st << " (1: see stderr)");
		REQUIRE(st == 0);
	}
}
