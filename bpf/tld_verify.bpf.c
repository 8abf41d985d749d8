// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The verification program: reads the calling thread's TLDs by name through
 * <tld/tld.bpf.h>, so that user space can compare what it wrote with what a
 * BPF program sees.  Used by the tests, the examples, `tldctl probe` and
 * `tldctl verify`.  `tldctl dump` has its own object, tld_dump.bpf.c.
 */
#include <tld/tld.bpf.h>

#include "tld_verify.h"

struct tld_keys {
	tld_key_t k[TLD_VERIFY_ITEMS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct tld_verify_req);
} verify_reqs SEC(".maps");

struct read_ctx {
	struct tld_object obj;
	struct tld_verify_req *req;
};

static long __tld_verify_copy(struct tld_object *obj, struct tld_verify_item *it, long off,
			      __u32 size)
{
	char *page = (char *)obj->data_map->data;
	int j;

	if (!page)
		return 0;
	for (j = 0; j < TLD_VERIFY_VALUE_MAX; j++) {
		long o = off + j;

		if (j >= size)
			break;
		/* Keep clang from folding the bound check into base + off. */
		barrier_var(o);
		if (o < 0 || o >= TLD_PAGE_SIZE)
			break;
		it->value[j] = page[o];
	}
	return j;
}

static int read_one(__u64 i, struct read_ctx *c)
{
	struct tld_verify_item *it;
	long off, again;
	__u32 size;

	if (i >= TLD_VERIFY_ITEMS || !c->obj.key_map || !c->obj.data_map)
		return 1;
	it = &c->req->item[i];
	size = it->size;
	it->found = 0;
	it->page_off = 0;
	if (size == 0 || size > TLD_VERIFY_VALUE_MAX)
		return 0;
	off = tld_get_off(&c->obj, k[i], it->name, size);
	if (off <= 0)
		return 0;
	if (c->req->flags & TLD_VERIFY_TWICE) {
		again = tld_get_off(&c->obj, k[i], it->name, size);
		if (again != off) {
			it->found = -1;
			return 0;
		}
	}
	it->page_off = off;
	it->found = 1;
	__tld_verify_copy(&c->obj, it, off, size);
	return 0;
}

SEC("syscall")
int tld_verify_read(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct read_ctx c = {};
	__u32 count;

	c.req = bpf_map_lookup_elem(&verify_reqs, &tid);
	if (!c.req)
		return 1;
	if (c.req->flags & TLD_VERIFY_RESET_CACHE)
		bpf_task_storage_delete(&tld_key_map, task);
	c.req->err = tld_object_init(task, &c.obj);
	if (c.req->err)
		return 0;
	count = c.req->count;
	if (count > TLD_VERIFY_ITEMS)
		count = TLD_VERIFY_ITEMS;
	bpf_loop(count, read_one, &c, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
