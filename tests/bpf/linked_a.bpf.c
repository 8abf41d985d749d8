// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Half of a consumer split over two source files that both include
 * <tld/tld.bpf.h> and are linked into one object (bpftool gen object): it
 * reads the TLD "linked.a" of the calling thread through the shared maps.
 */
#include <tld/tld.bpf.h>

#include "linked.h"

__u64 value_a;
__s32 found_a;

SEC("syscall")
int read_a(void *ctx)
{
	struct tld_object obj;
	__u64 *p;

	found_a = tld_object_init(bpf_get_current_task_btf(), &obj);
	if (found_a)
		return 0;
	p = tld_get_data(&obj, a, "linked.a", 8);
	found_a = p != 0;
	if (p)
		value_a = *p;
	return 0;
}
char LICENSE[] SEC("license") = "Dual BSD/GPL";
