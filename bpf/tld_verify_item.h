/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The reading of a request (tld_verify.h) by name through <tld/tld.bpf.h>,
 * for the BPF programs that include both: the verification program
 * (tld_verify.bpf.c) and the test probe (tests/lib/probe.bpf.c).  Defines
 * struct tld_keys: the cached key of each item of a request.
 */
#ifndef TLD_VERIFY_ITEM_H
#define TLD_VERIFY_ITEM_H

struct tld_keys {
	tld_key_t k[TLD_VERIFY_ITEMS];
};

/* Copy the first `size` bytes of the TLD at page offset `off` to it->value. */
static void tld_verify_copy(struct tld_object *obj, struct tld_verify_item *it, long off,
			    __u32 size)
{
	char *page = (char *)obj->data_map->data;
	int j;

	if (!page)
		return;
	for (j = 0; j < TLD_VERIFY_VALUE_MAX; j++) {
		long o = off + j;

		if (j >= size)
			break;
		/* Keep clang from folding the bound check into base + off. */
		barrier_var(o);
		if (o < 0 || o >= TLD_PAGE_SIZE)
			break;
		it->value[j] = page[o];
	}
}

/*
 * Look up item @i of a request, @it, in the task of @obj (twice with
 * TLD_VERIFY_TWICE in @flags) and fill in its found, page_off and value.
 * The caller checked that @i is below TLD_VERIFY_ITEMS and that @obj has
 * its key and data maps.
 */
static __attribute__((always_inline)) inline void
tld_verify_read_item(struct tld_object *obj, struct tld_verify_item *it, __u64 i, __u32 flags)
{
	__u32 size = it->size;
	long off, again;

	it->found = 0;
	it->page_off = 0;
	if (size == 0 || size > TLD_VERIFY_VALUE_MAX)
		return;
	off = tld_get_off(obj, k[i], it->name, size);
	if (off <= 0)
		return;
	if (flags & TLD_VERIFY_TWICE) {
		again = tld_get_off(obj, k[i], it->name, size);
		if (again != off) {
			it->found = -1;
			return;
		}
	}
	it->page_off = off;
	it->found = 1;
	tld_verify_copy(obj, it, off, size);
}

/*
 * Start reading a request of @count items with @flags in @task: delete the
 * task's key cache first with TLD_VERIFY_RESET_CACHE, then tld_object_init()
 * @obj, its result in *@err.  The number of items to read: @count, at most
 * TLD_VERIFY_ITEMS, or 0 when tld_object_init() failed.
 */
static __attribute__((always_inline)) inline __u32
tld_verify_start(struct task_struct *task, struct tld_object *obj, __u32 flags, __u32 count,
		 __s32 *err)
{
	if (flags & TLD_VERIFY_RESET_CACHE)
		bpf_task_storage_delete(&tld_key_map, task);
	*err = tld_object_init(task, obj);
	if (*err)
		return 0;
	return count > TLD_VERIFY_ITEMS ? TLD_VERIFY_ITEMS : count;
}

#endif /* TLD_VERIFY_ITEM_H */
