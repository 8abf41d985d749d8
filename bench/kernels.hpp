// The timed kernels: loops whose code nothing else in the benchmark shares,
// each in this file's object alone, so that editing the report or the
// process protocol cannot move them.
#pragma once

#include <linux/types.h>
#include <sys/types.h>

#include <cstdint>

#include <tld/tld.h>

namespace bench {

// ns per iteration of each loop of `n` iterations.
double loop_store(long n);			// through a plain __thread pointer
double loop_tld_data(long n);			// the inline tld_data()
using data_fn = void *(*)(tld_key_t);
double loop_tld_data_symbol(data_fn fn, long n);	// the exported symbol
// tld_get_data() with fds[i & mask] in iteration i.
double loop_tld_get_data(const int *fds, unsigned mask, long n);
double loop_upstream(long n);			// the upstream header's fast path
double loop_cached(std::uint64_t *p, long n);	// a pointer obtained once
double loop_map_update(int fd, long n);		// bpf_map_update_elem()

// The store target of loop_store() and the block of loop_upstream().
void set_store_target(std::uint64_t *p);
void set_upstream_block();

// Threads: what each thread does, and create + join of `n` of them.
void *thread_plain(void *);
void *thread_tld(void *);
void *thread_floor_register(void *);
void *thread_floor_full(void *);
struct thread_cost {
	double wall_ns = 0, cpu_ns = 0;
	int n = 0;
};
void loop_threads(void *(*fn)(void *), int n, thread_cost &c);

// The floor threads' pages (floor_pages of them and an empty metadata page)
// and their map value.
inline constexpr unsigned floor_pages = 64;
void setup_floor_pages();
void floor_value(unsigned i, __u64 (&value)[2]);

} // namespace bench
