// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * An independent reader of the task local data layout, written from the
 * protocol description alone and sharing no code with <tld/tld.bpf.h>: it
 * checks that what libtld writes is what any reader of the layout expects.
 *
 * Built twice: PROTO_VARIANT_B=0 reads version 1 (`start` in the first word
 * of the data page, 16-byte map value); PROTO_VARIANT_B=1 reads variant B
 * (`start` in a 24-byte map value).  Requests use the format of
 * bpf/tld_verify.h, keyed by thread id in `reqs`.
 */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#include "tld_verify.h"

#define PAGE 4096

struct reader_meta_slot {
	char name[62];
	__u16 size;
};

struct reader_meta {
	__u8 cnt;		/* readers use the low byte of the u16 count */
	__u8 cnt_hi;
	__u16 size;
	struct reader_meta_slot slot[63];
};

struct reader_page {
	__u64 first_word;	/* v1: start; B: unused header */
	char rest[PAGE - 8];
};

struct reader_value {
	struct reader_page __attribute__((btf_type_tag("uptr"))) *data;
	struct reader_meta __attribute__((btf_type_tag("uptr"))) *meta;
#if PROTO_VARIANT_B
	__u16 start;
#endif
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct reader_value);
} data_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct tld_verify_req);
} reqs SEC(".maps");

struct walk {
	struct reader_meta *meta;
	struct tld_verify_item *it;
	__u32 cnt;
	__u32 off;
	int found;
};

static int names_equal(const char *a, const char *b)
{
	int j;

	for (j = 0; j < 62; j++) {
		if (a[j] != b[j])
			return 0;
		if (!a[j])
			return 1;
	}
	return 1;
}

static int slot_cb(__u64 i, struct walk *w)
{
	struct reader_meta_slot *s;
	__u16 size;

	if (i >= 63 || !w->meta || !w->it)
		return 1;
	s = &w->meta->slot[i];
	size = s->size;
	if (!size)
		return 1;
	if (names_equal(s->name, w->it->name)) {
		w->found = 1;
		return 1;
	}
	w->off += (size + 7) / 8 * 8;
	return 0;
}

struct item_ctx {
	struct reader_value *v;
	struct tld_verify_req *req;
	/* By value, so that clang emits both page types in full: a UPTR to a
	 * forward declaration is not a UPTR the kernel can pin. */
	struct reader_page page_type[0];
	struct reader_meta meta_type[0];
};

static int item_cb(__u64 i, struct item_ctx *c)
{
	struct tld_verify_item *it;
	struct reader_page *page;
	struct walk w = {};
	__u64 start;
	int j;

	if (i >= TLD_VERIFY_ITEMS || !c->v || !c->req)
		return 1;
	it = &c->req->item[i];
	it->found = 0;
	page = c->v->data;
	w.meta = c->v->meta;
	if (!page || !w.meta)
		return 0;
#if PROTO_VARIANT_B
	start = c->v->start;
#else
	start = page->first_word;
#endif
	w.it = it;
	w.cnt = w.meta->cnt;
	bpf_loop(w.cnt > 63 ? 63 : w.cnt, slot_cb, &w, 0);
	if (!w.found)
		return 0;
	it->found = 1;
	it->page_off = start + w.off;
	for (j = 0; j < TLD_VERIFY_VALUE_MAX; j++) {
		__u64 o = start + w.off + j;

		if (j >= it->size)
			break;
		barrier_var(o);
		if (o >= PAGE)
			break;
		it->value[j] = ((char *)page)[o];
	}
	return 0;
}

SEC("syscall")
int proto_read(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct item_ctx c = {};
	__u32 count;

	c.req = bpf_map_lookup_elem(&reqs, &tid);
	if (!c.req)
		return 1;
	c.v = bpf_task_storage_get(&data_map, task, 0, 0);
	c.req->err = c.v ? 0 : -61;
	if (!c.v)
		return 0;
	count = c.req->count;
	bpf_loop(count > TLD_VERIFY_ITEMS ? TLD_VERIFY_ITEMS : count, item_cb, &c, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
