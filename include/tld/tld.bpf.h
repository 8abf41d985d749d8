/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libtld, BPF side: find a thread's task local data by name.
 *
 * Include after vmlinux.h (or on its own, which pulls in <linux/bpf.h>) in a
 * BPF program built with clang 15 or later (BTF type tags are required for
 * the UPTR fields) against libbpf 1.1 or later.  The program defines
 *
 *	struct tld_keys { tld_key_t prio; tld_key_t in_cs; };
 *
 * with one tld_key_t per TLD it reads; the library caches each TLD's offset
 * there, per task, in the map tld_key_map.  Then:
 *
 *	struct tld_object obj;
 *	int *prio;
 *
 *	if (tld_object_init(task, &obj))
 *		return 0;		// the task never published task local data
 *	prio = tld_get_data(&obj, prio, "priority", sizeof(int));
 *	if (prio)
 *		use(*prio);
 *
 * The names and the layout are those of the task local data selftest
 * library, so a program moves between the two by changing its include.
 *
 * Options (define before including):
 *   TLD_PAGE_SIZE             page size of the target (default __PAGE_SIZE or 4096)
 *   TLD_KEY_MAP_CREATE_RETRY  attempts at creating the key cache (default 10)
 *   TLD_CHECK_SIZE            if non-zero, a TLD is found only when its
 *                             published size equals the size asked for
 *   TLD_STRICT_ALIGNMENT      for loaders that set BPF_F_STRICT_ALIGNMENT:
 *                             no misaligned load, even on x86 and arm64
 *
 * Every access is bounded by the page, whatever user space wrote in the
 * metadata: a broken or hostile writer can make lookups fail, never make them
 * read outside the thread's page or return a TLD of another name.
 */
#ifndef TLD_TLD_BPF_H
#define TLD_TLD_BPF_H

#ifndef __VMLINUX_H__
#include <linux/bpf.h>
#include <linux/types.h>
#endif
#include <bpf/bpf_helpers.h>

#ifdef TLD_PAGE_SIZE
#define TLD_LAYOUT_PAGE_SIZE TLD_PAGE_SIZE
#endif
#include "tld_layout.h"
#ifndef TLD_PAGE_SIZE
#define TLD_PAGE_SIZE TLD_LAYOUT_PAGE_SIZE
#endif

#ifndef TLD_KEY_MAP_CREATE_RETRY
#define TLD_KEY_MAP_CREATE_RETRY 10
#endif
#ifndef TLD_CHECK_SIZE
#define TLD_CHECK_SIZE 0
#endif

#define TLD_ENOMEM 12
#define TLD_ENODATA 61

#ifndef __uptr
#define __uptr __attribute__((btf_type_tag("uptr")))
#endif

/* The cached key of one TLD in struct tld_keys. */
typedef struct {
	__s16 off;	/* > 0: page offset of the TLD; <= 0: -(slots searched) */
} tld_key_t;

struct tld_map_value {
	struct tld_data_u __uptr *data;
	struct tld_meta_u __uptr *meta;
};

/* Defined by the program: one tld_key_t member per TLD it reads. */
struct tld_keys;

struct tld_object {
	struct tld_map_value *data_map;
	struct tld_keys *key_map;
	/*
	 * Zero-length members by value, so that clang emits complete BTF for
	 * both page types: a UPTR to a forward-declared struct is refused by
	 * the kernel when the map is created.
	 */
	struct tld_data_u __tld_data_type[0];
	struct tld_meta_u __tld_meta_type[0];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tld_map_value);
} tld_data_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tld_keys);
} tld_key_map SEC(".maps");

#define __tld_read(x) (*(volatile __typeof__(x) *)&(x))

/*
 * Never called.  Its BTF prototype carries struct tld_object, and through it
 * the complete page types, into the BTF of every object that includes this
 * header, so that the functions below can be inlined.
 */
static __attribute__((noinline, used)) int __tld_btf_anchor(struct tld_object *obj)
{
	return obj->data_map != 0;
}

/*
 * tld_object_init() - find @task's task local data and its key cache.
 *
 * Returns 0; -ENODATA (-61) when the task has no element in tld_data_map (it
 * never took a block, or its map was unregistered); -ENOMEM (-12) when the
 * key cache could not be created.
 */
static __attribute__((always_inline, unused)) inline int tld_object_init(struct task_struct *task,
									struct tld_object *obj)
{
	int i;

	obj->key_map = 0;
	obj->data_map = bpf_task_storage_get(&tld_data_map, task, 0, 0);
	if (!obj->data_map)
		return -TLD_ENODATA;
	/*
	 * Creation can fail when other threads update task storage on this
	 * CPU.  Not unrolled: every caller inlines this function.
	 */
#pragma nounroll
	for (i = 0; i < TLD_KEY_MAP_CREATE_RETRY; i++) {
		obj->key_map = bpf_task_storage_get(&tld_key_map, task, 0,
						    BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (obj->key_map)
			return 0;
	}
	return -TLD_ENOMEM;
}

/*
 * A name to look for, as the 62 bytes a slot holds: 16 words in the byte
 * order of a 4-byte load and, per word, a mask of the bytes up to and
 * including the NUL.  Built from a string literal it folds to constants.
 */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define __TLD_BYTE_SHIFT(i) (8 * (3 - (i) % 4))
#else
#define __TLD_BYTE_SHIFT(i) (8 * ((i) % 4))
#endif

struct __tld_name {
	__u32 w[16];
	__u32 m[16];
};

static __attribute__((always_inline)) inline void __tld_name_init(struct __tld_name *n,
								  const char *name)
{
	int i, done = 0;

#pragma unroll
	for (i = 0; i < 64; i++) {
		__u32 c = 0;

		if (!done && i < TLD_LAYOUT_NAME_LEN) {
			c = (__u8)name[i];
			if (i % 4 == 0)
				n->w[i / 4] = n->m[i / 4] = 0;
			n->w[i / 4] |= c << __TLD_BYTE_SHIFT(i);
			n->m[i / 4] |= 0xffu << __TLD_BYTE_SHIFT(i);
			if (!c)
				done = 1;
		} else if (i % 4 == 0) {
			n->w[i / 4] = n->m[i / 4] = 0;
		}
	}
}

/* Bytes of word @k of a slot's name that differ from @n's (masked). */
#define __tld_word_diff(w, n, k)                                               \
	((__u64)((__tld_read((w)[k]) ^ (n)->w[k]) & (n)->m[k]))

/*
 * The first 8 bytes of a slot's name against @n's, masked.  Names are only
 * 4-byte aligned: x86 and arm64 load the 8 bytes at once (the verifier
 * allows misaligned loads there, unless the loader asks for
 * BPF_F_STRICT_ALIGNMENT: then define TLD_STRICT_ALIGNMENT); other targets
 * load two aligned words.
 */
#if (defined(__TARGET_ARCH_x86) || defined(__TARGET_ARCH_arm64)) &&               \
	defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ &&   \
	!defined(TLD_STRICT_ALIGNMENT)
#define __tld_prefix_diff(w, n)                                                \
	((__tld_read(*(const __u64 *)(const void *)(w)) ^                      \
	  ((n)->w[0] | (__u64)(n)->w[1] << 32)) &                              \
	 ((n)->m[0] | (__u64)(n)->m[1] << 32))
#else
#define __tld_prefix_diff(w, n) (__tld_word_diff(w, n, 0) | __tld_word_diff(w, n, 1))
#endif

/*
 * Walk the metadata from slot 0.  Returns the page offset of the TLD (> 0)
 * or -(slots searched).
 *
 * Inlined into every lookup, so that the name's words and masks become
 * immediates, and a plain bounded loop, so that a slot costs a dozen
 * instructions and no call.  A search after new slots were published
 * compares the old ones again rather than skipping them: their names cannot
 * match (published names never change), and a skip would cost every slot of
 * every search a few instructions.
 */
static __attribute__((always_inline)) inline int __tld_find(struct tld_map_value *v,
							    const struct __tld_name *n,
							    __u32 size)
{
	struct tld_meta_u *meta = v->meta;
	struct tld_data_u *data = v->data;
	__u32 cnt, sz, i;
	__u64 start, diff;
	int off = 0, k;

	if (!meta || !data)
		return 0;
	start = __tld_read(data->start);
	if (start < sizeof(__u64) || start >= TLD_PAGE_SIZE)
		return 0;
	cnt = __tld_read(meta->cnt) & 0xff;
	if (cnt > TLD_LAYOUT_SLOTS)
		cnt = TLD_LAYOUT_SLOTS;
	__asm__ volatile("" : "+r"(cnt));	/* one bound, the clamped one */
	for (i = 0; i < cnt; i++) {
		struct tld_metadata *m = &meta->metadata[i];
		/* Names start 4 bytes into a 64-byte slot: 4-byte aligned. */
		const __u32 *w = (const __u32 *)__builtin_assume_aligned(m->name, 4);

		sz = __tld_read(m->size);
		if (!sz)
			return -(int)i;	/* reserved, not yet published: retry later */
		/*
		 * Reject on the first 8 bytes with one branch (a branch per
		 * word would let the verifier's paths double with every slot);
		 * only a slot whose first 8 bytes match is compared in full.
		 */
		diff = __tld_prefix_diff(w, n);
		__asm__ volatile("" : "+r"(diff));	/* one value, one branch */
		if (!diff) {
			/*
			 * Words past a literal name's NUL have an empty mask:
			 * not read.  A name known only at run time is compared
			 * without branches, which the verifier would follow.
			 * Word 15 holds the last 2 name bytes and the slot's
			 * size, which its mask leaves out.
			 */
#pragma unroll
			for (k = 2; k < 16; k++)
				if (!__builtin_constant_p(n->m[k]) || n->m[k])
					diff |= __tld_word_diff(w, n, k);
			if (!diff) {
				if (off >= TLD_PAGE_SIZE || (TLD_CHECK_SIZE && sz != size))
					break;	/* past the page; same name, other type */
				return start + off;
			}
		}
		/* No bound here: 63 sizes of at most 64 KiB cannot overflow. */
		off += (sz + 7) & ~7u;
	}
	return -(int)cnt;
}

/*
 * tld_get_off() - page offset of the TLD @name of @size bytes in the page
 * at @obj->data_map->data, or 0 when it is not (yet) published.  @key is the
 * member of struct tld_keys that caches it.  For programs that copy a TLD of
 * a size known only at run time; others use tld_get_data().
 */
#define tld_get_off(obj, key, name, size)                                      \
	__tld_get_off((obj), &(obj)->key_map->key, (name), (size))

static __attribute__((always_inline)) inline long
__tld_get_off(struct tld_object *obj, tld_key_t *cache, const char *name, __u32 size)
{
	long off;

	if (!obj->data_map || !obj->key_map)
		return 0;
	off = cache->off;
	if (off <= 0) {
		struct tld_meta_u *meta = obj->data_map->meta;

		struct __tld_name n;

		if (!meta || -off >= (__tld_read(meta->cnt) & 0xff))
			return 0;	/* nothing published since the last search */
		__tld_name_init(&n, name);
		off = __tld_find(obj->data_map, &n, size);
		cache->off = off;
		/* Bound the very register used below: clang may otherwise fold
		 * both checks into one compare of a 32-bit copy, which the
		 * verifier cannot follow. */
		__asm__ volatile("" : "+r"(off));
		if (off <= 0)
			return 0;
	}
	if (off > TLD_PAGE_SIZE - (long)size)
		return 0;
	return off;
}

/*
 * tld_get_data() - pointer to the calling context's TLD @name, @size bytes
 * (a constant), or NULL when the task did not publish it.  @key is the member
 * of struct tld_keys that caches its offset.
 */
#define tld_get_data(obj, key, name, size)                                     \
	({                                                                     \
		void *__p = 0;                                                 \
		long __o = tld_get_off(obj, key, name, size);                  \
		if (__o > 0 && (obj)->data_map) {                              \
			char *__d = (char *)(obj)->data_map->data;             \
			if (__d && __o <= TLD_PAGE_SIZE - (long)(size))        \
				__p = __d + __o;                               \
		}                                                              \
		__p;                                                           \
	})

#endif /* TLD_TLD_BPF_H */
