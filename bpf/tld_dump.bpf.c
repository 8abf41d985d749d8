// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Task iterators of `tldctl dump` and `tldctl ps`.  tld_dump_* copy out the
 * pages of every thread of one process that has an element in a task local
 * data map; tld_ps_* report every task of the system that has one, with its
 * TLD count.  User space points dump_map_v1 (version 1 layout) or dump_map_b
 * (variant B) at a pinned map with bpf_map__reuse_fd() and loads only the
 * one program it runs.  Records: tld_dump.h.
 *
 * The object reads the wire layout (<tld/tld_layout.h>) as bytes and looks
 * nothing up by name, so it does not use <tld/tld.bpf.h>: it must accept
 * the map of any writer of the two layouts.
 */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#include <tld/tld_layout.h>

#include "tld_dump.h"
#include "tld_iter.h"

#define __uptr __attribute__((btf_type_tag("uptr")))

/* The map values of the two layouts tldctl reads. */
struct tld_dump_value_v1 {
	struct tld_data_u __uptr *data;
	struct tld_meta_u __uptr *meta;
};

struct tld_dump_value_b {
	struct tld_data_u __uptr *data;
	struct tld_meta_u __uptr *meta;
	__u16 start;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tld_dump_value_v1);
} dump_map_v1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tld_dump_value_b);
} dump_map_b SEC(".maps");

/* The few task fields the iterators print, relocated against kernel BTF. */
struct task_struct {
	int pid;
	int tgid;
	char comm[16];
	struct task_struct *group_leader;
} __attribute__((preserve_access_index));

static void fill_head(struct tld_dump_head *h, __u32 magic, struct task_struct *task,
		      struct tld_data_u *data, struct tld_meta_u *meta, __u32 start)
{
	struct task_struct *leader = task->group_leader;

	h->magic = magic;
	h->tgid = task->tgid;
	h->tid = task->pid;
	h->start = start;
	h->has_meta = meta != 0;
	h->has_data = data != 0;
	/* Readers use the low byte of the count; tldctl bounds it. */
	if (meta)
		h->count_byte = meta->cnt & 0xff;
	bpf_probe_read_kernel_str(h->comm, sizeof(h->comm), task->comm);
	if (leader)
		bpf_probe_read_kernel_str(h->leader_comm, sizeof(h->leader_comm), leader->comm);
}

/*
 * A subprogram of its own (never inlined): its parameters keep the page
 * types complete in the object's BTF, which the map value types point at.
 */
static __attribute__((noinline)) int dump_one(struct seq_file *seq, struct task_struct *task,
					      struct tld_data_u *data, struct tld_meta_u *meta,
					      __u32 start)
{
	struct tld_dump_head h = {};

	fill_head(&h, TLD_DUMP_MAGIC, task, data, meta, start);
	bpf_seq_write(seq, &h, sizeof(h));
	if (meta)
		bpf_seq_write(seq, meta, TLD_DUMP_META_BYTES);
	if (data)
		bpf_seq_write(seq, data, TLD_DUMP_DATA_BYTES);
	return 0;
}

static int ps_one(struct seq_file *seq, struct task_struct *task, struct tld_data_u *data,
		  struct tld_meta_u *meta, __u32 start)
{
	struct tld_dump_head h = {};

	fill_head(&h, TLD_PS_MAGIC, task, data, meta, start);
	bpf_seq_write(seq, &h, sizeof(h));
	return 0;
}

/*
 * The four iterators: the element of the task in the map of its layout
 * (variant B or version 1), if it has one, to dump_one or ps_one.  Inlined
 * into each program with constant arguments, so that each program refers
 * to the map of its own layout only (tldctl creates no other).
 */
static __always_inline int task_record(struct bpf_iter__task *ctx, int variant_b, int dump)
{
	struct task_struct *task = ctx->task;
	struct tld_data_u *data;
	struct tld_meta_u *meta;
	__u32 start = 0;

	if (!task)
		return 0;
	if (variant_b) {
		struct tld_dump_value_b *v = bpf_task_storage_get(&dump_map_b, task, 0, 0);

		if (!v)
			return 0;
		data = v->data;
		meta = v->meta;
		start = v->start;
	} else {
		struct tld_dump_value_v1 *v = bpf_task_storage_get(&dump_map_v1, task, 0, 0);

		if (!v)
			return 0;
		data = v->data;
		meta = v->meta;
	}
	if (dump)
		return dump_one(ctx->meta->seq, task, data, meta, start);
	return ps_one(ctx->meta->seq, task, data, meta, start);
}

/* tldctl dump (tld_dump_*) and tldctl ps (tld_ps_*), of each layout. */
#define TASK_ITERATOR(name, variant_b, dump)                                   \
	SEC("iter/task") int name(struct bpf_iter__task *ctx)                  \
	{                                                                      \
		return task_record(ctx, variant_b, dump);                      \
	}

TASK_ITERATOR(tld_dump_v1, 0, 1)
TASK_ITERATOR(tld_dump_b, 1, 1)
TASK_ITERATOR(tld_ps_v1, 0, 0)
TASK_ITERATOR(tld_ps_b, 1, 0)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
