// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A consumer that keeps its writers across its own restarts: tld_data_map
 * is pinned by name (TLD_PIN_DATA_MAP), so every instance loaded with the
 * same pin root reuses the map, and with it every element writers made.
 * A task iterator reads the TLD "restart.value" of the process it is
 * attached to.
 */
#define TLD_PIN_DATA_MAP
#include <tld/tld.bpf.h>

#include "tld_iter.h"

struct tld_keys {
	tld_key_t value;
};

struct task_struct {
	int pid;
} __attribute__((preserve_access_index));

__u64 value;
__u32 found;

SEC("iter/task")
int read_writer(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct tld_object obj;
	__u64 *p;

	if (!task || tld_object_init(task, &obj))
		return 0;
	p = tld_get_data(&obj, value, "restart.value", 8);
	if (p) {
		value = *p;
		found++;
	}
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
