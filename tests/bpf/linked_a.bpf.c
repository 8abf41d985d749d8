// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Half of a consumer split over two source files that both include
 * <tld/tld.bpf.h> and are linked into one object (bpftool gen object): it
 * reads the TLD "linked.a" of the calling thread through the shared maps.
 */
#include <tld/tld.bpf.h>

#include "linked.h"

LINKED_READER(a)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
