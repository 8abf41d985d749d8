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
#include "tld_verify_item.h"

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

static int read_one(__u64 i, struct read_ctx *c)
{
	struct tld_verify_item *it;

	if (i >= TLD_VERIFY_ITEMS || !c->obj.key_map || !c->obj.data_map || !c->req)
		return 1;
	it = &c->req->item[i];
	if (c->cfg) {
		__builtin_memcpy(it->name, c->cfg->item[i].name, TLD_VERIFY_NAME_LEN);
		it->size = c->cfg->item[i].size;
	}
	tld_verify_read_item(&c->obj, it, i, c->req->flags);
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
	count = tld_verify_start(task, &c.obj, c.req->flags, c.req->count, &c.req->err);
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
	if (count > TLD_VERIFY_ITEMS)
		count = TLD_VERIFY_ITEMS;
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
	count = tld_verify_start(task, &c.obj, c.cfg->flags, count, &c.req->err);
	bpf_loop(count, read_one, &c, 0);
	bpf_seq_write(ctx->meta->seq, c.req, sizeof(*c.req));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
