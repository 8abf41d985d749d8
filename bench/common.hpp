// What the parts of the benchmark share: the repetitions, the samples, the
// process's key and map, and a few helpers.
#pragma once

#include <linux/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <tld/tld.h>

struct tld_bench;

namespace bench {

inline constexpr int reps = 7;			// repetitions of every in-process figure
inline constexpr int child_reps = 5;		// repetitions that need a process each
// BPF figures: samples from each of bpf_loads processes.  Every process loads
// the programs afresh, so the JIT places them at other addresses: one load's
// lucky or unlucky code alignment does not decide a figure.
inline constexpr int bpf_loads = 5;
inline constexpr int bpf_reps = 3;
inline constexpr long store_iters = 20'000'000;
inline constexpr long map_iters = 100'000;
inline constexpr int thread_iters = 1'000;
inline constexpr int rss_threads = 10'000;
inline constexpr std::size_t rss_stack = 64 * 1024;
inline constexpr double bpf_target_ns = 15e6;	// aim of one BPF timing run

// Figure name -> samples, in the order they were taken.
using samples = std::map<std::string, std::vector<double>>;

double now_ns();
[[noreturn]] void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// The key of the in-process figures, read from memory on every iteration, as
// a key defined with TLD_DEFINE_KEY() would be.
extern tld_key_t g_key;
// The bench object's tld_data_map, once loaded.
extern int g_map_fd;

// Loads the bench object (for its tld_data_map) and registers the map.
tld_bench *load_and_register();

long statm_resident_bytes();

} // namespace bench
