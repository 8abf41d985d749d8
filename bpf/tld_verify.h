/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Requests of the verification program (tld_verify.bpf.c), shared by the BPF
 * object and the user-space code that drives it.  The includer provides
 * __u8, __u32 and __s32.
 *
 * A thread puts a request in the map `verify_reqs` under its thread id, runs
 * the program `tld_verify_read` (BPF_PROG_TEST_RUN) from that thread, and
 * reads the same element back: the program looked up every named TLD of the
 * calling thread through <tld/tld.bpf.h> and copied its bytes.
 */
#ifndef TLD_VERIFY_H
#define TLD_VERIFY_H

#define TLD_VERIFY_ITEMS 63		/* TLDs per request */
#define TLD_VERIFY_VALUE_MAX 64		/* bytes copied per TLD */
#define TLD_VERIFY_NAME_LEN 64

/* Request flags. */
#define TLD_VERIFY_RESET_CACHE 1u	/* delete the task's key cache first */
#define TLD_VERIFY_TWICE 2u		/* look up twice; the second must agree */

struct tld_verify_item {
	char name[TLD_VERIFY_NAME_LEN];	/* NUL-terminated */
	__u32 size;			/* bytes to read, 1..TLD_VERIFY_VALUE_MAX */
	__s32 found;			/* out: 1 found, 0 not found, -1 lookups disagreed */
	__u32 page_off;			/* out: page offset the TLD was found at */
	__u32 pad;
	__u8 value[TLD_VERIFY_VALUE_MAX]; /* out: the TLD's bytes as BPF saw them */
};

struct tld_verify_req {
	__u32 count;			/* items in use */
	__u32 flags;
	__s32 err;			/* out: tld_object_init() result */
	__u32 pad;
	struct tld_verify_item item[TLD_VERIFY_ITEMS];
};

#endif /* TLD_VERIFY_H */
