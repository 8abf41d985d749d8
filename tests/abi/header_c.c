/* <tld/tld.h> builds as strict C11 (-std=c11 -pedantic -Wall -Wextra -Werror)
 * and works: a defined and a created key, written and read back.  Built a
 * second time as C99 with TLD_NO_INLINE: then no inline cache exists and
 * every tld_data() is the library's. */
#include <tld/tld.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

TLD_DEFINE_KEY(abi_c_defined, "abi.c.defined", 8);

int main(void)
{
	tld_key_t k = tld_create_key("abi.c.created", 16);
	uint64_t *p, *d;

	if (tld_key_is_err(k) || tld_key_err_or_zero(k) != 0) {
		fprintf(stderr, "tld_create_key failed: %d\n", k.off);
		return 1;
	}
	if (tld_key_is_err(abi_c_defined)) {
		fprintf(stderr, "TLD_DEFINE_KEY key holds %d\n", abi_c_defined.off);
		return 1;
	}
	p = (uint64_t *)tld_data(k);
	d = (uint64_t *)tld_data(abi_c_defined);
	if (!p || !d) {
		fprintf(stderr, "tld_data failed: errno %d\n", errno);
		return 1;
	}
	p[0] = 1;
	p[1] = 2;
	*d = 3;
	if (p[0] + p[1] + *d != 6 || (void *)p == (void *)d) {
		fprintf(stderr, "values did not stick\n");
		return 1;
	}
	if (tld_create_key("abi.c.created", 16).off != -EEXIST) {
		fprintf(stderr, "duplicate name was not -EEXIST\n");
		return 1;
	}
	if (tld_find_key("abi.c.created", 16).off != k.off) {
		fprintf(stderr, "tld_find_key did not find the key\n");
		return 1;
	}
	tld_free();
	p = (uint64_t *)tld_data(k);
	if (!p || p[0] != 0) {
		fprintf(stderr, "block after tld_free is not zero-filled\n");
		return 1;
	}
#ifdef TLD_NO_INLINE
#ifdef TLD_PRIV_INLINE
#error "TLD_NO_INLINE left the inline tld_data() defined"
#endif
#else
#ifndef TLD_PRIV_INLINE
#error "the inline tld_data() is missing"
#endif
	if (tld_priv_off == 0) {
		fprintf(stderr, "the inline path does not know the library's thread state\n");
		return 1;
	}
#endif
	return 0;
}
