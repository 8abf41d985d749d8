/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Requests of the test probe object (probe.bpf.c), shared by the BPF object
 * and tests/lib/bpftest.cpp.  The includer provides __u8, __u32 and __s32.
 *
 * The items, their limits and the flags are those of bpf/tld_verify.h; the
 * robustness suites own the rest: a larger request map (thousands of
 * threads at once), a task iterator that reads any thread of any process,
 * and a mode that only says which threads have an element.
 */
#ifndef TLD_TEST_PROBE_H
#define TLD_TEST_PROBE_H

#include "tld_verify.h"

#define PROBE_REQS_MAX 4096		/* threads reading at once */

/*
 * One request (syscall program: key = thread id in probe_reqs) or one record
 * of the task iterator (configured by iter_cfg[0]; a record has only the
 * header when the configured count is 0).  An item's name is NUL-terminated
 * unless it fills all TLD_VERIFY_NAME_LEN bytes.
 */
struct probe_req {
	__u32 count;			/* items in use */
	__u32 flags;
	__s32 err;			/* out: tld_object_init() result */
	__u32 tid;			/* out: the thread read */
	__u32 tgid;			/* out */
	__u32 has_elem;			/* out: the thread has an element in tld_data_map */
	struct tld_verify_item item[TLD_VERIFY_ITEMS];
};

#define PROBE_HEAD_BYTES 24		/* the header fields above */

#endif /* TLD_TEST_PROBE_H */
