// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The verification program: reads the calling thread's TLDs by name through
 * <tld/tld.bpf.h>, so that user space can compare what it wrote with what a
 * BPF program sees.  Used by the tests, the examples, `tldctl probe` and
 * `tldctl verify`.  `tldctl dump` has its own object, tld_dump.bpf.c.
 */
#include <tld/tld.bpf.h>

#include "tld_verify.h"
#include "tld_verify_item.h"

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

static int read_one(__u64 i, struct read_ctx *c)
{
	if (i >= TLD_VERIFY_ITEMS || !c->obj.key_map || !c->obj.data_map)
		return 1;
	tld_verify_read_item(&c->obj, &c->req->item[i], i, c->req->flags);
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
	count = tld_verify_start(task, &c.obj, c.req->flags, c.req->count, &c.req->err);
	bpf_loop(count, read_one, &c, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
