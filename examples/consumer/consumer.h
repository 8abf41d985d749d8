/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the BPF program (consumer.bpf.c), its loader (loader.c) and the
 * writer (writer.c) share: the names and sizes of the TLDs, and the record
 * the program keeps per thread.  The includer provides __u32, __s32 and
 * __u64 (vmlinux.h in BPF, <linux/types.h> in user space).
 */
#ifndef CONSUMER_H
#define CONSUMER_H

/* The TLDs, by name: writers publish them, the program finds them. */
#define CONSUMER_PRIORITY "consumer.priority"		/* __s32 */
#define CONSUMER_REQUEST_ID "consumer.request_id"	/* __u64 */
#define CONSUMER_LABEL "consumer.label"			/* char[16], NUL-terminated */
#define CONSUMER_LABEL_LEN 16

/* Indexes of found_reads[] and bits of consumer_seen.found. */
enum consumer_tld {
	CONSUMER_TLD_PRIORITY,
	CONSUMER_TLD_REQUEST_ID,
	CONSUMER_TLD_LABEL,
	CONSUMER_TLDS
};

#define CONSUMER_MAX_THREADS 4096	/* entries of the map `seen` */

/* The last values the program read from one thread (map `seen`, key: tid). */
struct consumer_seen {
	__u32 tgid;
	__u32 found;			/* bit CONSUMER_TLD_x: TLD x was read */
	__s32 priority;
	__u32 reserved;
	__u64 request_id;
	char label[CONSUMER_LABEL_LEN];
	__u64 switches;			/* context switches the thread was read at */
};

#endif /* CONSUMER_H */
