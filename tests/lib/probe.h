/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Requests of the test probe object (probe.bpf.c), shared by the BPF object
 * and tests/lib/bpftest.cpp.  The includer provides __u8, __u32 and __s32.
 *
 * Like bpf/tld_verify.h, but owned by the robustness suites: a larger request
 * map (thousands of threads at once), a task iterator that reads any thread
 * of any process, and a mode that only says which threads have an element.
 */
#ifndef TLD_TEST_PROBE_H
#define TLD_TEST_PROBE_H

#define PROBE_ITEMS 63			/* TLDs per request */
#define PROBE_VALUE_MAX 64		/* bytes copied per TLD */
#define PROBE_NAME_LEN 64
#define PROBE_REQS_MAX 4096		/* threads reading at once */

#define PROBE_RESET_CACHE 1u		/* delete the task's key cache first */
#define PROBE_TWICE 2u			/* look up twice; the second must agree */

struct probe_item {
	char name[PROBE_NAME_LEN];	/* in: NUL-terminated unless 64 bytes */
	__u32 size;			/* in: bytes to read, 1..PROBE_VALUE_MAX */
	__s32 found;			/* out: 1 found, 0 not found, -1 lookups disagreed */
	__u32 page_off;			/* out: page offset the TLD was found at */
	__u32 pad;
	__u8 value[PROBE_VALUE_MAX];	/* out: the TLD's bytes as BPF saw them */
};

/*
 * One request (syscall program: key = thread id in probe_reqs) or one record
 * of the task iterator (configured by iter_cfg[0]; a record has only the
 * header when the configured count is 0).
 */
struct probe_req {
	__u32 count;			/* items in use */
	__u32 flags;
	__s32 err;			/* out: tld_object_init() result */
	__u32 tid;			/* out: the thread read */
	__u32 tgid;			/* out */
	__u32 has_elem;			/* out: the thread has an element in tld_data_map */
	struct probe_item item[PROBE_ITEMS];
};

#define PROBE_HEAD_BYTES 24		/* the header fields above */

#endif /* TLD_TEST_PROBE_H */
