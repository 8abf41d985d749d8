// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The robustness suites' reader: <tld/tld.bpf.h> as a consumer uses it, read
 * the way bpf/tld_verify.bpf.c reads, from two contexts:
 *   - probe_read (syscall program): the calling thread's TLDs;
 *   - probe_iter (task iterator): every thread of the process the link is
 *     attached to, so that one process reads another's TLDs (the privileges
 *     suite) and counts which threads have an element (the stress suite).
 * Built twice: with TLD_CHECK_SIZE 0 (the default) and 1.
 */
#include <tld/tld.bpf.h>

#include "probe.h"
#include "tld_iter.h"

struct tld_keys {
	tld_key_t k[PROBE_ITEMS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, PROBE_REQS_MAX);
	__type(key, __u32);
	__type(value, struct probe_req);
} probe_reqs SEC(".maps");

/* The iterator's request: names and sizes to read from every thread. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct probe_req);
} iter_cfg SEC(".maps");

/* The iterator's record, built here: too large for the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct probe_req);
} iter_out SEC(".maps");

struct read_ctx {
	struct tld_object obj;
	struct probe_req *req;
	struct probe_req *cfg;		/* iterator: where the names come from */
};

static void copy_value(struct tld_object *obj, struct probe_item *it, long off, __u32 size)
{
	char *page = (char *)obj->data_map->data;
	int j;

	if (!page)
		return;
	for (j = 0; j < PROBE_VALUE_MAX; j++) {
		long o = off + j;

		if (j >= size)
			break;
		/* Keep clang from folding the bound check into base + off. */
		barrier_var(o);
		if (o < 0 || o >= TLD_PAGE_SIZE)
			break;
		it->value[j] = page[o];
	}
}

static int read_one(__u64 i, struct read_ctx *c)
{
	struct probe_item *it;
	long off, again;
	__u32 size;

	if (i >= PROBE_ITEMS || !c->obj.key_map || !c->obj.data_map || !c->req)
		return 1;
	it = &c->req->item[i];
	if (c->cfg) {
		__builtin_memcpy(it->name, c->cfg->item[i].name, PROBE_NAME_LEN);
		it->size = c->cfg->item[i].size;
	}
	size = it->size;
	it->found = 0;
	it->page_off = 0;
	if (size == 0 || size > PROBE_VALUE_MAX)
		return 0;
	off = tld_get_off(&c->obj, k[i], it->name, size);
	if (off <= 0)
		return 0;
	if (c->req->flags & PROBE_TWICE) {
		again = tld_get_off(&c->obj, k[i], it->name, size);
		if (again != off) {
			it->found = -1;
			return 0;
		}
	}
	it->page_off = off;
	it->found = 1;
	copy_value(&c->obj, it, off, size);
	return 0;
}

SEC("syscall")
int probe_read(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct read_ctx c = {};
	__u32 count;

	c.req = bpf_map_lookup_elem(&probe_reqs, &tid);
	if (!c.req)
		return 1;
	c.req->tid = tid;
	c.req->tgid = id >> 32;
	c.req->has_elem = bpf_task_storage_get(&tld_data_map, task, 0, 0) != 0;
	if (c.req->flags & PROBE_RESET_CACHE)
		bpf_task_storage_delete(&tld_key_map, task);
	c.req->err = tld_object_init(task, &c.obj);
	if (c.req->err)
		return 0;
	count = c.req->count;
	if (count > PROBE_ITEMS)
		count = PROBE_ITEMS;
	bpf_loop(count, read_one, &c, 0);
	return 0;
}

struct task_struct {
	int pid;
	int tgid;
} __attribute__((preserve_access_index));

SEC("iter/task")
int probe_iter(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct read_ctx c = {};
	__u32 zero = 0, count;

	if (!task)
		return 0;
	c.cfg = bpf_map_lookup_elem(&iter_cfg, &zero);
	c.req = bpf_map_lookup_elem(&iter_out, &zero);
	if (!c.cfg || !c.req)
		return 0;
	count = c.cfg->count;
	if (count > PROBE_ITEMS)
		count = PROBE_ITEMS;
	c.req->count = count;
	c.req->flags = c.cfg->flags;
	c.req->tid = task->pid;
	c.req->tgid = task->tgid;
	c.req->has_elem = bpf_task_storage_get(&tld_data_map, task, 0, 0) != 0;
	c.req->err = 0;
	if (!count) {
		bpf_seq_write(ctx->meta->seq, c.req, PROBE_HEAD_BYTES);
		return 0;
	}
	if (c.cfg->flags & PROBE_RESET_CACHE)
		bpf_task_storage_delete(&tld_key_map, task);
	c.req->err = tld_object_init(task, &c.obj);
	if (!c.req->err)
		bpf_loop(count, read_one, &c, 0);
	bpf_seq_write(ctx->meta->seq, c.req, sizeof(*c.req));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
