// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Library C's other source file: uses the key through the header's extern
 * declaration. */
#include <errno.h>

#include "objects.h"
#include "objects_c.h"

int objects_c_set(uint64_t v)
{
	uint64_t *p = (uint64_t *)tld_data(same_key);

	if (!p)
		return -errno;
	*p = v;
	return 0;
}
