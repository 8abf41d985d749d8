// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A plugin that defines one 16-byte TLD: fits the default 64-byte reserve. */
#include <tld/tld.h>

TLD_DEFINE_KEY(late_fit_key, "late.fit", 16);
