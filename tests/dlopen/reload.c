// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A plugin that defines the 8-byte TLD "reload.value" and writes it.  Built
 * twice: as the plugin that test_reload.cpp loads, unloads and loads again,
 * and (RELOAD_TWIN) as a second plugin defining the same name and size. */
#include <errno.h>
#include <stdint.h>
#include <tld/tld.h>

#ifdef RELOAD_TWIN
#define RELOAD_FN(f) tldtest_twin_##f
#else
#define RELOAD_FN(f) tldtest_reload_##f
#endif

TLD_DEFINE_KEY(reload_key, "reload.value", sizeof(uint64_t));

tld_key_t RELOAD_FN(key)(void)
{
	return reload_key;
}

int RELOAD_FN(set)(uint64_t v)
{
	uint64_t *p = (uint64_t *)tld_data(reload_key);

	if (!p)
		return -errno;
	*p = v;
	return 0;
}
