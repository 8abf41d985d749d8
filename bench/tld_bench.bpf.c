// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * BPF side of the benchmark: syscall programs that time a lookup in a
 * bpf_loop() of `iters` iterations and leave the elapsed time in .bss.
 * User space runs them (BPF_PROG_TEST_RUN) from a thread whose block is
 * registered in tld_data_map and that published 63 TLDs of 8 bytes, each
 * holding TLD_BENCH_VALUE(i).
 *
 * Two lookups are compared with <tld/tld.bpf.h>: upstream's, written in
 * upstream_ref.bpf.h from the description of the selftest header.
 */
#include <tld/tld.bpf.h>

#include "tld_bench.h"
#include "upstream_ref.bpf.h"

struct tld_keys {
	tld_key_t cached;	/* slot 0, found once and kept */
	tld_key_t first;	/* slot 0, reset before every lookup */
	tld_key_t last;		/* slot 62, reset before every lookup */
	tld_key_t ref_cached;	/* the same three, for the reference lookup */
	tld_key_t ref_first;
	tld_key_t ref_last;
};

/* In: iterations of the next run.  Out: its time and what it read. */
__u64 iters;
__u64 elapsed_ns;
__u64 done;
__u64 sum;
__s64 err;

#define barrier() asm volatile("" ::: "memory")

/* ---- the loops ----------------------------------------------------------- */

struct loop_ctx {
	struct task_struct *task;
	struct tld_object obj;
	struct ref_object ref;
	__u64 sum;
};

/* Cached: object init and a lookup of a cached key, every iteration. */
static int cached_cb(__u64 i, struct loop_ctx *c)
{
	struct tld_object obj;
	__u64 *p;

	if (tld_object_init(c->task, &obj))
		return 1;
	p = tld_get_data(&obj, cached, TLD_BENCH_NAME_FIRST, 8);
	if (!p)
		return 1;
	c->sum += *p;
	return 0;
}

static int cached_ref_cb(__u64 i, struct loop_ctx *c)
{
	struct ref_object o;
	__u64 *p;

	if (ref_object_init(c->task, &o))
		return 1;
	p = ref_get_data(&o, ref_cached, TLD_BENCH_NAME_FIRST, 8);
	if (!p)
		return 1;
	c->sum += *p;
	return 0;
}

/* Uncached: the cache entry is reset to 0 ("nothing searched") first. */
#define UNCACHED_CB(fn, key, name)                                             \
	static int fn(__u64 i, struct loop_ctx *c)                             \
	{                                                                      \
		__u64 *p;                                                      \
		if (!c->obj.key_map)                                           \
			return 1;                                              \
		c->obj.key_map->key.off = 0;                                   \
		barrier(); /* read the entry back, as a program would */       \
		p = tld_get_data(&c->obj, key, name, 8);                       \
		if (!p)                                                        \
			return 1;                                              \
		c->sum += *p;                                                  \
		return 0;                                                      \
	}

#define UNCACHED_REF_CB(fn, key, name)                                         \
	static int fn(__u64 i, struct loop_ctx *c)                             \
	{                                                                      \
		__u64 *p;                                                      \
		if (!c->ref.key_map || !c->ref.data_map)                       \
			return 1;                                              \
		c->ref.key_map->key.off = 0;                                   \
		barrier();                                                     \
		p = ref_get_data(&c->ref, key, name, 8);                       \
		if (!p)                                                        \
			return 1;                                              \
		c->sum += *p;                                                  \
		return 0;                                                      \
	}

UNCACHED_CB(first_cb, first, TLD_BENCH_NAME_FIRST)
UNCACHED_CB(last_cb, last, TLD_BENCH_NAME_LAST)
UNCACHED_REF_CB(first_ref_cb, ref_first, TLD_BENCH_NAME_FIRST)
UNCACHED_REF_CB(last_ref_cb, ref_last, TLD_BENCH_NAME_LAST)
UNCACHED_CB(sp_first_cb, first, TLD_BENCH_SP_NAME_FIRST)
UNCACHED_CB(sp_last_cb, last, TLD_BENCH_SP_NAME_LAST)
UNCACHED_REF_CB(sp_last_ref_cb, ref_last, TLD_BENCH_SP_NAME_LAST)

/* INIT: 0 none, 1 the libtld object, 2 the reference object. */
#define BENCH_PROG(prog, cb, INIT)                                             \
	SEC("syscall")                                                         \
	int prog(void *ctx)                                                    \
	{                                                                      \
		struct loop_ctx c = {};                                        \
		__u64 t0, t1;                                                  \
		long n;                                                        \
                                                                               \
		c.task = bpf_get_current_task_btf();                           \
		err = 0;                                                       \
		if (INIT == 1)                                                 \
			err = tld_object_init(c.task, &c.obj);                 \
		else if (INIT == 2)                                            \
			err = ref_object_init(c.task, &c.ref);                 \
		if (err)                                                       \
			return 0;                                              \
		t0 = bpf_ktime_get_ns();                                       \
		n = bpf_loop(iters, cb, &c, 0);                                \
		t1 = bpf_ktime_get_ns();                                       \
		elapsed_ns = t1 - t0;                                          \
		done = n;                                                      \
		sum = c.sum;                                                   \
		return 0;                                                      \
	}

BENCH_PROG(bench_cached, cached_cb, 0)
BENCH_PROG(bench_cached_upstream, cached_ref_cb, 0)
BENCH_PROG(bench_first, first_cb, 1)
BENCH_PROG(bench_last, last_cb, 1)
BENCH_PROG(bench_first_helper, first_ref_cb, 2)
BENCH_PROG(bench_last_helper, last_ref_cb, 2)
BENCH_PROG(bench_sp_first, sp_first_cb, 1)
BENCH_PROG(bench_sp_last, sp_last_cb, 1)
BENCH_PROG(bench_sp_last_helper, sp_last_ref_cb, 2)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
