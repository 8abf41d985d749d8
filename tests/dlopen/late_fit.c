// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A plugin that defines one 16-byte TLD: fits the default 64-byte reserve.
 * Its key variable is hidden, as every TLD_DEFINE_KEY() variable is: the
 * test reads it through the exported function. */
#include <tld/tld.h>

TLD_DEFINE_KEY(late_fit_key, "late.fit", 16);

tld_key_t tldtest_late_fit_key(void)
{
	return late_fit_key;
}
