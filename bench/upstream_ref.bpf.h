/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The benchmark's reference: a lookup written from the description of the
 * upstream selftest header (task storage lookups of both maps with a
 * bpf_for() retry loop; a bpf_strncmp() call per slot), over the maps and
 * types of <tld/tld.bpf.h>.  Include after it and after struct tld_keys.
 */
#ifndef TLD_BENCH_UPSTREAM_REF_BPF_H
#define TLD_BENCH_UPSTREAM_REF_BPF_H

struct ref_object {
	struct tld_map_value *data_map;
	struct tld_keys *key_map;
};

/* Both storages, the cache with a bpf_for() retry loop, as upstream does. */
static int ref_object_init(struct task_struct *task, struct ref_object *o)
{
	int i;

	o->key_map = 0;
	o->data_map = bpf_task_storage_get(&tld_data_map, task, 0, 0);
	if (!o->data_map)
		return -TLD_ENODATA;
	bpf_for(i, 0, TLD_KEY_MAP_CREATE_RETRY) {
		o->key_map = bpf_task_storage_get(&tld_key_map, task, 0,
						  BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (o->key_map)
			break;
	}
	if (!o->key_map)
		return -TLD_ENOMEM;
	return 0;
}

/* Slots from 0, one bpf_strncmp() per slot from @from on, rounded sizes summed. */
static int ref_fetch_key(struct ref_object *o, const char *name, int from)
{
	struct tld_metadata *md;
	int i, cnt, start, off = 0;

	if (!o->data_map || !o->data_map->data || !o->data_map->meta)
		return 0;
	start = o->data_map->data->start;
	cnt = *(__u8 *)&o->data_map->meta->cnt;
	md = o->data_map->meta->metadata;
	bpf_for(i, 0, cnt) {
		__u32 s = i;

		if (s >= TLD_LAYOUT_SLOTS)
			break;
		barrier_var(s);	/* index with the register just checked */
		if (i >= from && !bpf_strncmp(md[s].name, TLD_LAYOUT_NAME_LEN, name))
			return start + off;
		/* The mask lets the verifier's range of off saturate, so
		 * that the iterator loop converges (offsets fit 16 bits). */
		off = (off + ((md[s].size + 7) & ~7)) & 0xffff;
	}
	return -cnt;
}

#define ref_get_data(o, key, name, size)                                       \
	({                                                                     \
		void *__p = 0, *__d = (o)->data_map->data;                     \
		long __off = (o)->key_map->key.off;                            \
		if (__d) {                                                     \
			if (__off > 0) {                                       \
				barrier_var(__off);                            \
				if (__off < TLD_PAGE_SIZE - (size))            \
					__p = __d + __off;                     \
			} else if ((o)->data_map->meta &&                      \
				   -__off < *(__u8 *)&(o)->data_map->meta->cnt) { \
				__off = ref_fetch_key((o), (name), -__off);    \
				(o)->key_map->key.off = __off;                 \
				if (__off < TLD_PAGE_SIZE - (size)) {          \
					barrier_var(__off);                    \
					if (__off > 0)                         \
						__p = __d + __off;             \
				}                                              \
			}                                                      \
		}                                                              \
		__p;                                                           \
	})

#endif /* TLD_BENCH_UPSTREAM_REF_BPF_H */
