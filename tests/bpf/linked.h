/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the two halves of the linked consumer (linked_a.bpf.c and
 * linked_b.bpf.c) share: the key cache's layout. */
#ifndef TLD_TEST_LINKED_H
#define TLD_TEST_LINKED_H

struct tld_keys {
	tld_key_t a;
	tld_key_t b;
};

#endif
