/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Records of the task iterators of tld_dump.bpf.c, shared by the BPF object
 * and tldctl, which parses them.  The includer provides __u8, __u16, __u32
 * and __u64 (<linux/types.h>), as <tld/tld_layout.h> needs.
 *
 * tld_dump_v1 and tld_dump_b (`tldctl dump`, attached to one process)
 * write, for every thread with an element in the map, a header with
 * TLD_DUMP_MAGIC followed by the metadata page (TLD_DUMP_META_BYTES) and the
 * thread's data page (TLD_DUMP_DATA_BYTES), copied as they are; a page whose
 * UPTR is not set is left out.
 *
 * tld_ps_v1 and tld_ps_b (`tldctl ps`, attached to every task) write the
 * header alone, with TLD_PS_MAGIC, for every task with an element.
 */
#ifndef TLD_DUMP_H
#define TLD_DUMP_H

#include <tld/tld_layout.h>

/* The bytes copied of each page: its type in the wire layout (the thread's
 * page is TLD_LAYOUT_PAGE_SIZE bytes). */
#define TLD_DUMP_META_BYTES sizeof(struct tld_meta_u)
#define TLD_DUMP_DATA_BYTES sizeof(struct tld_data_u)

struct tld_dump_head {
	__u32 magic;			/* TLD_DUMP_MAGIC or TLD_PS_MAGIC */
	__u32 tgid;
	__u32 tid;
	__u32 start;			/* variant B: `start` of the map value; v1: 0 */
	__u32 has_meta;			/* the meta UPTR is set (dump: the page follows) */
	__u32 has_data;			/* the data UPTR is set (dump: the page follows) */
	__u32 count_byte;		/* the count's low byte as read; 0 without meta */
	char comm[16];			/* the thread's name */
	char leader_comm[16];		/* the name of its process's leader thread */
};
#define TLD_DUMP_MAGIC 0x544c4431u	/* "TLD1": the pages follow */
#define TLD_PS_MAGIC 0x544c4450u	/* "TLDP": the header alone */

#endif /* TLD_DUMP_H */
