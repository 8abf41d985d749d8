// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The parent project's BPF program: it reads one TLD through <tld/tld.bpf.h>. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <tld/tld.bpf.h>

struct tld_keys {
	tld_key_t priority;
};

int last_priority;

SEC("tp_btf/sched_switch")
int BPF_PROG(parent_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct tld_object obj;
	int *priority;

	if (tld_object_init(next, &obj))
		return 0;
	priority = tld_get_data(&obj, priority, "parent.priority", sizeof(int));
	if (priority)
		last_priority = *priority;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
