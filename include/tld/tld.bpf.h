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
 * with one tld_key_t per TLD it reads; the header caches each TLD's offset
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
 * See tld.bpf.h(3) for the whole interface.
 *
 * Options (define before including):
 *   TLD_PAGE_SIZE             page size of the target (default __PAGE_SIZE or 4096)
 *   TLD_KEY_MAP_CREATE_RETRY  attempts at creating the key cache (default 10)
 *   TLD_CHECK_SIZE            if non-zero, a TLD is found only when its
 *                             published size equals the size asked for; by
 *                             default it is found when it has at least as
 *                             many bytes as asked for
 *   TLD_STRICT_ALIGNMENT      for loaders that set BPF_F_STRICT_ALIGNMENT:
 *                             no misaligned load, even on x86 and arm64
 *   TLD_PIN_DATA_MAP          pin tld_data_map by name (LIBBPF_PIN_BY_NAME),
 *                             so that the map and every writer's element
 *                             outlive the consumer: a restarted consumer
 *                             reuses the map pinned by the one before
 *   TLD_NO_EXEC_PROG          leave out the program tld_exec (below)
 *   TLD_EXEC_DELETE_RETRY     attempts of tld_exec at a delete that another
 *                             program on the CPU keeps busy (default 10)
 *
 * Cost: a lookup whose offset is cached is a few loads and compares inline.
 * A lookup by name calls __tld_find(), a global function that the verifier
 * checks once per program, however many call sites the program has; each
 * call site adds about a hundred verified instructions.
 *
 * exec(): the kernel keeps a task's storage across execve(), so a task
 * would show the old image's pages (still pinned) and keep its cached
 * offsets of the old layout.  Unless TLD_NO_EXEC_PROG is defined, the header
 * adds the program tld_exec on tp_btf/sched_process_exec, which deletes the
 * task's elements of tld_data_map and tld_key_map when it execs; a skeleton's
 * attach() attaches it with the consumer's own programs.
 *
 * Several objects: the maps, tld_exec and the global functions are weak, so
 * that .bpf.c files which include this header link into one object
 * (bpftool gen object); they must then agree on struct tld_keys (define it
 * in a header they share).
 *
 * Every access is bounded by the page, whatever user space wrote in the
 * metadata: a broken or hostile writer can make lookups fail, never make them
 * read outside the thread's page or return a TLD of another name.
 *
 * Little-endian BPF targets only (bpfel: x86, arm64, riscv, ...).
 */
#ifndef TLD_TLD_BPF_H
#define TLD_TLD_BPF_H

#ifndef __VMLINUX_H__
#include <linux/bpf.h>
#include <linux/types.h>
#endif
#include <bpf/bpf_helpers.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "<tld/tld.bpf.h> supports little-endian BPF targets only"
#endif

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

/*
 * The cached key of one TLD in struct tld_keys: > 0, the TLD's page offset;
 * <= 0, -(slots searched without finding it).  32 bits, so that any offset
 * of a 64 KiB page fits.
 */
typedef struct {
	__s32 off;
} tld_key_t;

_Static_assert(TLD_PAGE_SIZE <= 65536, "page offsets must fit tld_key_t");

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
#ifdef TLD_PIN_DATA_MAP
	__uint(pinning, LIBBPF_PIN_BY_NAME);
#endif
} tld_data_map SEC(".maps") __attribute__((weak));

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tld_keys);
} tld_key_map SEC(".maps") __attribute__((weak));

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
 * never took a block, its map was unregistered, or it exec'd since); -ENOMEM
 * (-12) when the key cache could not be created.
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
 * A name to look for, as the 62 bytes of a slot compare: 16 little-endian
 * words and, per word, a mask of the bytes up to and including the NUL.
 * @tail is the first of the two words that end the name: the word before
 * the one that holds the NUL (or holds the last bytes of a 62-byte name,
 * word 15), or word 0; so at most 14.
 */
struct __tld_name {
	__u32 w[16];
	__u32 m[16];
	__u32 tail;
};

/*
 * From a string literal: folds to constant stores, and reads no byte past
 * the literal's NUL.
 */
static __attribute__((always_inline)) inline void __tld_name_literal(struct __tld_name *n,
								     const char *name)
{
	int i, done = 0;

#pragma unroll
	for (i = 0; i < 64; i++) {
		__u32 c;

		if (i % 4 == 0)
			n->w[i / 4] = n->m[i / 4] = 0;
		if (done || i >= TLD_LAYOUT_NAME_LEN)
			continue;
		c = (__u8)name[i];
		n->w[i / 4] |= c << (8 * (i % 4));
		n->m[i / 4] |= 0xffu << (8 * (i % 4));
		n->tail = i < 4 ? 0 : i / 4 - 1;
		if (!c)
			done = 1;
	}
}

/*
 * From a name known only at run time: reads all 62 bytes (the buffer must
 * have them), without a branch, so that the verifier walks it once.
 */
static __attribute__((always_inline)) inline void __tld_name_runtime(struct __tld_name *n,
								     const char *name)
{
	__u64 live = 0xff;	/* 0xff up to and including the NUL, then 0 */
	__u32 words = 0;	/* words with a byte of the name or its NUL */
	int i;

#pragma unroll
	for (i = 0; i < 64; i++) {
		__u64 c;

		if (i % 4 == 0)
			n->w[i / 4] = n->m[i / 4] = 0;
		if (i >= TLD_LAYOUT_NAME_LEN)
			continue;
		c = (__u8)__tld_read(name[i]);
		n->w[i / 4] |= (__u32)((c & live) << (8 * (i % 4)));
		n->m[i / 4] |= (__u32)(live << (8 * (i % 4)));
		live &= -((c | -c) >> 63);	/* c == 0: live becomes 0 */
		if (i % 4 == 3 || i == TLD_LAYOUT_NAME_LEN - 1)
			words += (__u32)(((__u64)n->m[i / 4] | -(__u64)n->m[i / 4]) >> 63);
	}
	/* words >= 1: word 0 holds the first byte, NUL or not */
	n->tail = (words - 2) + ((words - 2) >> 31);	/* words - 2, or 0 */
}

/*
 * Bytes 8..61 of @slot's name against @n's: 1 when they match.  A global
 * function of its own, so that the verifier checks it once, not in every
 * step of the slot walk; called only for slots whose first 8 bytes match.
 */
__attribute__((weak, noinline)) int __tld_name_tail_eq(const struct tld_metadata *slot,
						       const struct __tld_name *n)
{
	const __u32 *w;
	__u32 diff = 0;
	int k;

	if (!slot || !n)
		return 0;
	/* Names start 4 bytes into a 64-byte slot: 4-byte aligned. */
	w = (const __u32 *)__builtin_assume_aligned(slot->name, 4);
#pragma unroll
	for (k = 2; k < 16; k++)
		diff |= (__tld_read(w[k]) ^ n->w[k]) & n->m[k];
	return diff == 0;
}

/*
 * 8 bytes of a slot's name from the 4-byte word @w on.  x86 and arm64 load them at once (the
 * verifier allows the misaligned load there, unless the loader asks for
 * BPF_F_STRICT_ALIGNMENT: then define TLD_STRICT_ALIGNMENT); other targets
 * load two aligned words.
 */
#if (defined(__TARGET_ARCH_x86) || defined(__TARGET_ARCH_arm64)) && !defined(TLD_STRICT_ALIGNMENT)
#define __tld_name_8(w) __tld_read(*(const __u64 *)(const void *)(w))
#else
#define __tld_name_8(w) ((__u64)__tld_read((w)[0]) | (__u64)__tld_read((w)[1]) << 32)
#endif

/*
 * Walk the metadata page @meta for @n.  Returns the TLD's page offset
 * (@start plus its offset in the data area: > 0) when a slot of that name
 * is published with a size the lookup accepts (@exact: equal to @size;
 * otherwise at least @size) and the TLD lies inside the page; otherwise
 * -(slots searched), which the caller caches so that it searches again only
 * once more slots are published.
 *
 * A global function: the verifier checks it once per program, not at every
 * call site.  A search after new slots were published walks the old ones
 * again rather than skipping them: their names cannot match (published
 * names never change), and a skip would cost every slot a few instructions.
 */
__attribute__((weak, noinline)) int __tld_find(struct tld_meta_u *meta, const struct __tld_name *n,
					       __u32 start, __u32 size, __u32 exact)
{
	__u32 cnt, i, sz, off = 0;
	__u64 tail, head, head_mask, tw, tm, diff;

	if (!meta || !n)
		return 0;
	/*
	 * Two 8-byte windows reject a slot without a call: the name's first
	 * 8 bytes, and the 8 bytes that end with its NUL (where names that
	 * share a prefix differ).  A slot whose windows both match is compared
	 * in full (bytes 8 to 61, __tld_name_tail_eq()), whatever the name's
	 * length.
	 */
	tail = n->tail;
	if (tail > 14)
		return 0;
	__asm__ volatile("" : "+r"(tail));	/* index with the bounded register */
	head = n->w[0] | (__u64)n->w[1] << 32;
	head_mask = n->m[0] | (__u64)n->m[1] << 32;
	tw = n->w[tail] | (__u64)n->w[tail + 1] << 32;
	tm = n->m[tail] | (__u64)n->m[tail + 1] << 32;
	cnt = __tld_read(meta->cnt) & 0xff;	/* readers use the low byte */
	for (i = 0; i < TLD_LAYOUT_SLOTS; i++) {
		struct tld_metadata *m = &meta->metadata[i];
		/* Names start 4 bytes into a 64-byte slot: 4-byte aligned. */
		const __u32 *w = (const __u32 *)__builtin_assume_aligned(m->name, 4);

		if (i >= cnt)
			break;
		sz = __tld_read(m->size);
		if (!sz)
			break;	/* reserved, not yet published: retry later */
		diff = ((__tld_name_8(w) ^ head) & head_mask) | ((__tld_name_8(w + tail) ^ tw) & tm);
		__asm__ volatile("" : "+r"(diff));	/* one value, one branch */
		if (!diff && __tld_name_tail_eq(m, n)) {
			/* The first slot of the name decides.  No sum of 63
			 * sizes of at most 64 KiB overflows. */
			/* Refused: the name cannot come again, so the next
			 * search waits for new slots. */
			if ((exact ? sz != size : sz < size) || start + off > TLD_PAGE_SIZE - size)
				return -(int)cnt;
			return start + off;
		}
		off += TLD_LAYOUT_ROUND(sz);
	}
	return -(int)i;
}

/*
 * tld_get_off() - page offset of the TLD @name of @size bytes in the page
 * at @obj->data_map->data, or 0 when it is not (yet) published.  @key is the
 * member of struct tld_keys that caches it.  @name is a string literal, or
 * a buffer of at least 62 readable bytes (a name known only at run time).
 * For programs that copy a TLD of a size known only at run time; others use
 * tld_get_data().
 */
#define tld_get_off(obj, key, name, size)                                      \
	__tld_get_off((obj), &(obj)->key_map->key, (name), (size),             \
		      __builtin_constant_p(name))

static __attribute__((always_inline)) inline long __tld_get_off(struct tld_object *obj,
								tld_key_t *cache, const char *name,
								__u32 size, int literal)
{
	long off;

	if (!obj->data_map || !obj->key_map)
		return 0;
	off = cache->off;
	if (off <= 0) {
		struct tld_meta_u *meta = obj->data_map->meta;
		struct tld_data_u *data = obj->data_map->data;
		struct __tld_name n;
		__u64 start;

		if (!meta || !data || -off >= (__tld_read(meta->cnt) & 0xff))
			return 0;	/* nothing published since the last search */
		start = __tld_read(data->start);
		if (start < sizeof(__u64) || start >= TLD_PAGE_SIZE)
			return 0;
		if (literal)
			__tld_name_literal(&n, name);
		else
			__tld_name_runtime(&n, name);
		off = __tld_find(meta, &n, start, size, TLD_CHECK_SIZE);
		cache->off = off;
	}
	/* Bound the very register returned: clang may otherwise fold the
	 * checks into one compare of a 32-bit copy, which the verifier
	 * cannot follow. */
	__asm__ volatile("" : "+r"(off));
	if (off <= 0 || off > TLD_PAGE_SIZE - (long)size)
		return 0;
	return off;
}

/*
 * tld_get_data() - pointer to the TLD @name of the task of @obj, @size bytes
 * (a constant), or NULL when the task did not publish it (or published it
 * with fewer bytes; with TLD_CHECK_SIZE, with another size).  @key is the
 * member of struct tld_keys that caches its offset.
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

#ifndef TLD_NO_EXEC_PROG
#ifndef TLD_EXEC_DELETE_RETRY
#define TLD_EXEC_DELETE_RETRY 10
#endif
#define TLD_EBUSY 16

static __attribute__((always_inline)) inline void __tld_delete(void *map, struct task_struct *task)
{
	int i;

	/* -EBUSY: another program holds task storage on this CPU. */
#pragma nounroll
	for (i = 0; i < TLD_EXEC_DELETE_RETRY; i++)
		if (bpf_task_storage_delete(map, task) != -TLD_EBUSY)
			break;
}

/*
 * tld_exec - when a task execs, delete its elements of both maps: the new
 * image publishes its own layout (or none), so the old pages are unpinned
 * and no cached offset of the old layout survives.  The new image's
 * threads register again on their first lookup.
 */
SEC("tp_btf/sched_process_exec")
__attribute__((weak)) int tld_exec(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	__tld_delete(&tld_data_map, task);
	__tld_delete(&tld_key_map, task);
	return 0;
}
#endif /* TLD_NO_EXEC_PROG */

#endif /* TLD_TLD_BPF_H */
