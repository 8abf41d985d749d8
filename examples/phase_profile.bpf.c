// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A tiny profiler: on every context switch, the on-CPU time of the task
 * leaving the CPU is added to the counter of the phase that task published
 * in its TLD "phase" (a u32).  Tasks of other processes are ignored.
 */
#include <tld/tld.bpf.h>
#include <bpf/bpf_tracing.h>

#include "phase_profile.h"

struct tld_keys {
	tld_key_t phase;
};

/* The few task fields used here, relocated against the kernel's BTF. */
struct task_struct {
	int pid;
	int tgid;
} __attribute__((preserve_access_index));

const volatile __u32 target_tgid;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} switched_in SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PHASE_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} phase_ns SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, _Bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns(), *since, *total;
	struct tld_object obj;
	__u32 zero = 0, slot = PHASE_NONE;
	__u32 *phase;

	since = bpf_map_lookup_elem(&switched_in, &zero);
	if (!since)
		return 0;
	if (*since && prev->tgid == target_tgid) {
		if (tld_object_init(prev, &obj) == 0) {
			phase = tld_get_data(&obj, phase, "phase", sizeof(__u32));
			if (phase && *phase < PHASE_SLOTS)
				slot = *phase;
		}
		total = bpf_map_lookup_elem(&phase_ns, &slot);
		if (total)
			__sync_fetch_and_add(total, now - *since);
	}
	*since = now;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
