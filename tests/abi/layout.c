/* The wire layout of <tld/tld_layout.h> matches docs/PROTOCOL.md ("The map",
 * "The metadata page", "The thread page"), checked at compile time in C
 * (what BPF programs and other C readers compile). */
#include <linux/types.h>
#include <stddef.h>

#include <tld/tld.h>
#include <tld/tld_layout.h>

_Static_assert(TLD_LAYOUT_NAME_LEN == 62, "names are 62 bytes");
_Static_assert(TLD_LAYOUT_SLOTS == 63, "63 metadata slots");
_Static_assert(TLD_LAYOUT_DATA_START == 8, "data[] at offset 8 of the page");
_Static_assert(TLD_NAME_MAX == 61, "61 characters plus the NUL");
_Static_assert(TLD_KEYS_MAX == 63, "as many keys as slots");

_Static_assert(sizeof(struct tld_metadata) == 64, "tld_metadata is 64 bytes");
_Static_assert(offsetof(struct tld_metadata, name) == 0, "tld_metadata.name at 0");
_Static_assert(offsetof(struct tld_metadata, size) == 62, "tld_metadata.size at 62");

_Static_assert(offsetof(struct tld_meta_u, cnt) == 0, "tld_meta_u.cnt at 0");
_Static_assert(offsetof(struct tld_meta_u, size) == 2, "tld_meta_u.size at 2");
_Static_assert(offsetof(struct tld_meta_u, metadata) == 4, "tld_meta_u.metadata at 4");
_Static_assert(sizeof(struct tld_meta_u) == 4 + 63 * 64, "tld_meta_u is 4 + 63 slots");
_Static_assert(sizeof(struct tld_meta_u) <= 4096, "the metadata fits one page");

_Static_assert(offsetof(struct tld_data_u, start) == 0, "tld_data_u.start at 0");
_Static_assert(offsetof(struct tld_data_u, data) == 8, "tld_data_u.data at 8");
_Static_assert(sizeof(((struct tld_data_u *)0)->start) == 8, "start is 64 bits");
_Static_assert(sizeof(struct tld_data_u) == TLD_LAYOUT_PAGE_SIZE, "tld_data_u spans a page");

_Static_assert(sizeof(tld_key_t) == 2, "tld_key_t is 2 bytes");
_Static_assert(offsetof(tld_key_t, off) == 0, "tld_key_t.off at 0");

_Static_assert(TLD_LAYOUT_ROUND(1) == 8 && TLD_LAYOUT_ROUND(8) == 8 &&
		       TLD_LAYOUT_ROUND(9) == 16 && TLD_LAYOUT_ROUND(0) == 0,
	       "TLD_LAYOUT_ROUND rounds up to 8");

/* What the header's inline tld_data() and tld_get_data() compile into their
 * callers (ABI of libtld.so.1 since 0.3.0): no exported function takes this
 * struct, so the ABI baseline cannot see it, and only appending is allowed. */
#ifdef TLD_PRIV_INLINE
_Static_assert(offsetof(struct tld_priv_thread, data) == 0, "tld_priv_thread.data at 0");
_Static_assert(offsetof(struct tld_priv_thread, key_marks) == 8, "tld_priv_thread.key_marks at 8");
_Static_assert(offsetof(struct tld_priv_thread, fds) == 16, "tld_priv_thread.fds at 16");
_Static_assert(TLD_PRIV_FD_BITS == 256 && sizeof(struct tld_priv_thread) == 48,
	       "tld_priv_thread has a bit for each of 256 descriptors");
#endif

int main(void)
{
	/* The same at run time, so a compiler that ignored the asserts still fails. */
	struct tld_meta_u m;
	tld_key_t k = {0};
	if ((char *)&m.metadata[1].size - (char *)&m != 4 + 64 + 62)
		return 1;
	if (sizeof(k) != 2)
		return 1;
	return 0;
}
