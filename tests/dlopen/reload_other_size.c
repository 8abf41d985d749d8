// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A plugin that defines "reload.value" with 16 bytes: another size than the
 * TLD of that name already published. */
#include <tld/tld.h>

TLD_DEFINE_KEY(reload_other_key, "reload.value", 16);

tld_key_t tldtest_other_size_key(void)
{
	return reload_other_key;
}
