// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Half of a consumer split over two source files that both include
 * <tld/tld.bpf.h> and are linked into one object (bpftool gen object): it
 * reads the TLD "linked.b" of the calling thread through the shared maps.
 */
#include <tld/tld.bpf.h>

#include "linked.h"

__u64 value_b;
__s32 found_b;

SEC("syscall")
int read_b(void *ctx)
{
	struct tld_object obj;
	__u64 *p;

	found_b = tld_object_init(bpf_get_current_task_btf(), &obj);
	if (found_b)
		return 0;
	p = tld_get_data(&obj, b, "linked.b", 8);
	found_b = p != 0;
	if (p)
		value_b = *p;
	return 0;
}
