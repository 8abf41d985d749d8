// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * <tld/tld.bpf.h>'s lookup compiled for the host, over pages the test lays
 * out itself: what no kernel of this machine can show, a 64 KiB page with a
 * TLD far past offset 32767, must be found by name and then through the
 * cached offset.  Exits 0 when both lookups return the TLD.
 */
#define TLD_PAGE_SIZE 65536
#define TLD_NO_EXEC_PROG
#include <tld/tld.bpf.h>

#include <stdio.h>
#include <string.h>

struct tld_keys {
	tld_key_t far;
};

static union {
	struct tld_data_u d;
	unsigned char b[TLD_PAGE_SIZE];
} data_page;
static struct tld_meta_u meta_page;

int main(void)
{
	struct tld_map_value v = {&data_page.d, &meta_page};
	struct tld_keys keys = {{0}};
	struct tld_object obj = {&v, &keys};
	const unsigned pad = 2000, pads = 20;
	const unsigned long want = 8 + pad * pads;	/* 40008: not an s16 */
	unsigned i;
	void *p;

	data_page.d.start = 8;
	for (i = 0; i < pads; i++) {
		snprintf(meta_page.metadata[i].name, sizeof(meta_page.metadata[i].name), "pad%02u", i);
		meta_page.metadata[i].size = pad;
	}
	strcpy(meta_page.metadata[pads].name, "far");
	meta_page.metadata[pads].size = 8;
	meta_page.cnt = pads + 1;

	for (i = 0; i < 2; i++) {
		p = tld_get_data(&obj, far, "far", 8);
		if (p != data_page.b + want) {
			fprintf(stderr, "%s lookup: %p, expected page offset %lu (%p); cached %d\n",
				i ? "cached" : "first", p, want, (void *)(data_page.b + want),
				keys.far.off);
			return 1;
		}
	}
	return 0;
}
