/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the benchmark's BPF programs (tld_bench.bpf.c) and its user space
 * (children.cpp) agree on: the names of the 63 TLDs and their values.
 *
 * Two sets of names, one per process (a process has at most 63 TLDs):
 * "distinct" names differ in their first 8 bytes (the inline prefix compare
 * of <tld/tld.bpf.h> rejects a slot at once); "same prefix" names share 14
 * bytes, so every slot is compared in full.
 */
#ifndef TLD_BENCH_H
#define TLD_BENCH_H

#define TLD_BENCH_KEYS 63
#define TLD_BENCH_NAME_FMT "k%02u.bench.tld"
#define TLD_BENCH_NAME_FIRST "k00.bench.tld"
#define TLD_BENCH_NAME_LAST "k62.bench.tld"
#define TLD_BENCH_SP_NAME_FMT "app.component.%02u"
#define TLD_BENCH_SP_NAME_FIRST "app.component.00"
#define TLD_BENCH_SP_NAME_LAST "app.component.62"

/* The 8-byte value each thread stores in TLD i. */
#define TLD_BENCH_VALUE(i) (0x5eed0000ull + (i))

#endif /* TLD_BENCH_H */
