// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Maps that libtld must refuse to write to: a task storage map of variant C
 * (metadata array at offset 64), task storage maps without UPTR fields, and
 * maps of other types.
 */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#define __uptr __attribute__((btf_type_tag("uptr")))

struct c_slot {
	char name[62];
	__u16 size;
};

struct c_meta {
	__u8 cnt;
	__u16 size;
	__u32 unused;
	struct c_slot metadata[63] __attribute__((aligned(64)));
};

struct c_page {
	__u64 start;
	char data[4096 - 8];
};

struct c_value {
	struct c_page __uptr *data;
	struct c_meta __uptr *meta;
};

struct plain16 {
	__u64 data;
	__u64 meta;
};

struct plain24 {
	__u64 data;
	__u64 meta;
	__u16 start;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct c_value);
} variant_c SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct plain16);
} no_uptr16 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct plain24);
} no_uptr24 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct plain16);
} array16 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, int);
	__type(value, struct plain16);
} hash16 SEC(".maps");

/* Keeps the C types in the object's BTF. */
SEC("syscall")
int touch(void *ctx)
{
	struct c_value *v = 0;
	int key = 0;

	v = bpf_map_lookup_elem(&array16, &key);
	return v ? 0 : 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
