/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the two halves of the linked consumer (linked_a.bpf.c and
 * linked_b.bpf.c) share: the key cache's layout, and the reader each half
 * defines for its own TLD. */
#ifndef TLD_TEST_LINKED_H
#define TLD_TEST_LINKED_H

struct tld_keys {
	tld_key_t a;
	tld_key_t b;
};

/*
 * The program read_X: the calling thread's TLD "linked.X" (8 bytes) into
 * value_X; found_X is 1 when found, 0 when not, or tld_object_init()'s error.
 */
#define LINKED_READER(x)                                                       \
	__u64 value_##x;                                                       \
	__s32 found_##x;                                                       \
                                                                               \
	SEC("syscall")                                                         \
	int read_##x(void *ctx)                                                \
	{                                                                      \
		struct tld_object obj;                                         \
		__u64 *p;                                                      \
                                                                               \
		found_##x = tld_object_init(bpf_get_current_task_btf(), &obj); \
		if (found_##x)                                                 \
			return 0;                                              \
		p = tld_get_data(&obj, x, "linked." #x, 8);                    \
		found_##x = p != 0;                                            \
		if (p)                                                         \
			value_##x = *p;                                        \
		return 0;                                                      \
	}

#endif
