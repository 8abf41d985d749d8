// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A BPF consumer of task local data: at every context switch, it reads the
 * TLDs of the thread leaving the CPU and of the thread taking it, and keeps
 * the last values per thread (map `seen`) and, per TLD, how many reads
 * found it (found_reads).
 *
 * TLD_PIN_DATA_MAP pins tld_data_map by name under the loader's
 * pin_root_path: the map, and every writer's element in it, outlive this
 * program, so a restarted loader reads on where the last one stopped and
 * writers register only once.
 */
#define TLD_PIN_DATA_MAP
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <tld/tld.bpf.h>

#include "consumer.h"

/* One cached key per TLD read (tld.bpf.h(3)). */
struct tld_keys {
	tld_key_t priority;
	tld_key_t request_id;
	tld_key_t label;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CONSUMER_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct consumer_seen);
} seen SEC(".maps");

__u64 found_reads[CONSUMER_TLDS];

/*
 * Inlined at each of its two callers, so the program has six lookup sites:
 * the header's search by name is verified once however many there are.
 */
static __always_inline void read_thread(struct task_struct *task)
{
	struct consumer_seen *s, fresh = {};
	struct tld_object obj;
	__u32 tid = task->pid;
	__s32 *priority;
	__u64 *request_id;
	char *label;

	if (tld_object_init(task, &obj))
		return;		/* the thread publishes nothing in our map */
	s = bpf_map_lookup_elem(&seen, &tid);
	if (!s) {
		fresh.tgid = task->tgid;
		bpf_map_update_elem(&seen, &tid, &fresh, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&seen, &tid);
		if (!s)
			return;	/* the map is full */
	}
	/* A thread is on one CPU at a time, so plain stores do for its
	 * record; switches is atomic only because the CPU it leaves and the
	 * one it comes to may still overlap. */
	__sync_fetch_and_add(&s->switches, 1);

	priority = tld_get_data(&obj, priority, CONSUMER_PRIORITY, sizeof(*priority));
	if (priority) {
		s->priority = *priority;
		s->found |= 1u << CONSUMER_TLD_PRIORITY;
		__sync_fetch_and_add(&found_reads[CONSUMER_TLD_PRIORITY], 1);
	}
	request_id = tld_get_data(&obj, request_id, CONSUMER_REQUEST_ID, sizeof(*request_id));
	if (request_id) {
		s->request_id = *request_id;
		s->found |= 1u << CONSUMER_TLD_REQUEST_ID;
		__sync_fetch_and_add(&found_reads[CONSUMER_TLD_REQUEST_ID], 1);
	}
	label = tld_get_data(&obj, label, CONSUMER_LABEL, CONSUMER_LABEL_LEN);
	if (label) {
		__builtin_memcpy(s->label, label, CONSUMER_LABEL_LEN);
		s->label[CONSUMER_LABEL_LEN - 1] = 0;	/* whatever the writer left */
		s->found |= 1u << CONSUMER_TLD_LABEL;
		__sync_fetch_and_add(&found_reads[CONSUMER_TLD_LABEL], 1);
	}
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	read_thread(prev);
	read_thread(next);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
