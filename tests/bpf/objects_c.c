// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Library C of test_objects.cpp: defines `same_key` for "objects.lib_c".
 * Built with default visibility, like most libraries: only the variable's
 * own visibility keeps it out of the program's reach.  Its header comes
 * first, as in a library whose files all include it. */
#include "objects_c.h"

#include "objects.h"

TLD_DEFINE_KEY(same_key, "objects.lib_c", 8);

tld_key_t objects_c_key(void)
{
	return same_key;
}
