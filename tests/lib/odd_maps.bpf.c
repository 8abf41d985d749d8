// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Maps that libtld must refuse to write to: a task storage map of variant C
 * (metadata array at offset 64), task storage maps with UPTR fields but
 * another shape (slots of 32 bytes, a 32-bit count, a data struct shorter
 * than a page, no slot array, the two pointers swapped), task storage maps
 * without UPTR fields, and maps of other types.
 */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <tld/tld_layout.h>

#define __uptr __attribute__((btf_type_tag("uptr")))

/*
 * Each wrong shape below differs from version 1 in one part; the parts it
 * shares are the real types of <tld/tld_layout.h>.
 */

/* Variant C: an 8-bit count and the slots at offset 64. */
struct c_meta {
	__u8 cnt;
	__u16 size;
	__u32 unused;
	struct tld_metadata metadata[63] __attribute__((aligned(64)));
};

struct c_value {
	struct tld_data_u __uptr *data;
	struct c_meta __uptr *meta;
};

/* Slots of 32 bytes: a 30-byte name, the size. */
struct small_slot {
	char name[30];
	__u16 size;
};
struct small_slot_meta {
	__u16 cnt;
	__u16 size;
	struct small_slot metadata[63];
};
struct small_slot_value {
	struct tld_data_u __uptr *data;
	struct small_slot_meta __uptr *meta;
};

/* A 32-bit count in place of the count and the size. */
struct count32_meta {
	__u32 cnt;
	struct tld_metadata metadata[63];
};
struct count32_value {
	struct tld_data_u __uptr *data;
	struct count32_meta __uptr *meta;
};

/* A data struct of 128 bytes, not a page. */
struct short_page {
	__u64 start;
	char data[120];
};
struct short_page_value {
	struct short_page __uptr *data;
	struct tld_meta_u __uptr *meta;
};

/* No slot array: the names and sizes as one blob. */
struct blob_meta {
	__u16 cnt;
	__u16 size;
	char blob[63 * 64];
};
struct blob_value {
	struct tld_data_u __uptr *data;
	struct blob_meta __uptr *meta;
};

/* The metadata page first, the thread's page second. */
struct swapped_value {
	struct tld_meta_u __uptr *meta;
	struct tld_data_u __uptr *data;
};

#define ODD_TASK_MAP(name, vtype)                                              \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_TASK_STORAGE);                       \
		__uint(map_flags, BPF_F_NO_PREALLOC);                          \
		__type(key, int);                                              \
		__type(value, vtype);                                          \
	} name SEC(".maps")

/* By value, so that clang emits the pointed-to types in full (a UPTR to a
 * forward declaration is refused for a reason of its own). */
struct complete_types {
	struct tld_data_u a[0];
	struct tld_meta_u b[0];
	struct small_slot_meta c[0];
	struct count32_meta d[0];
	struct short_page e[0];
	struct blob_meta f[0];
	struct c_meta g[0];
};

/* Never called: its BTF prototype carries struct complete_types. */
static __attribute__((noinline, used)) int complete_types_anchor(struct complete_types *t)
{
	return t != 0;
}

ODD_TASK_MAP(small_slots, struct small_slot_value);
ODD_TASK_MAP(count32, struct count32_value);
ODD_TASK_MAP(short_page, struct short_page_value);
ODD_TASK_MAP(no_slot_array, struct blob_value);
ODD_TASK_MAP(swapped, struct swapped_value);

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
