// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A plugin that defines a 128-byte TLD: more than the default reserve. */
#include <tld/tld.h>

TLD_DEFINE_KEY(late_big_key, "late.big", 128);

tld_key_t tldtest_late_big_key(void)
{
	return late_big_key;
}
