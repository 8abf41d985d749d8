/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The task local data wire layout, version 1: the bytes that user space
 * writes and BPF programs read.  Shared by the library, <tld/tld.bpf.h> and
 * the tools; see libtld(7) for the protocol around it.
 *
 * The includer provides __u8, __u16 and __u64 (<linux/types.h> or vmlinux.h).
 * TLD_LAYOUT_PAGE_SIZE is the page size BPF readers assume; user space uses
 * the run-time page size and needs only the offsets.
 */
#ifndef TLD_TLD_LAYOUT_H
#define TLD_TLD_LAYOUT_H

#ifndef TLD_LAYOUT_PAGE_SIZE
#ifdef __PAGE_SIZE
#define TLD_LAYOUT_PAGE_SIZE __PAGE_SIZE
#else
#define TLD_LAYOUT_PAGE_SIZE 4096
#endif
#endif

/* Bytes of a slot's name field; names are NUL-terminated unless this long. */
#define TLD_LAYOUT_NAME_LEN 62
/* Metadata slots in the page: one 64-byte slot per TLD after the header. */
#define TLD_LAYOUT_SLOTS 63
/* Offset of the data area from the start of a thread's page. */
#define TLD_LAYOUT_DATA_START 8

struct tld_metadata {
	char name[TLD_LAYOUT_NAME_LEN];
	__u16 size;			/* 0: slot reserved, not yet published */
};

struct tld_meta_u {
	__u16 cnt;			/* slots published; readers use the low byte */
	__u16 size;			/* bytes of every thread's data area */
	struct tld_metadata metadata[TLD_LAYOUT_SLOTS];
};

struct tld_data_u {
	__u64 start;			/* page offset of data[]: always 8 here */
	char data[TLD_LAYOUT_PAGE_SIZE - sizeof(__u64)];
};

/* Round a TLD size up to the 8-byte granule of the data area. */
#define TLD_LAYOUT_ROUND(sz) ((((sz) + 7) / 8) * 8)

#endif /* TLD_TLD_LAYOUT_H */
