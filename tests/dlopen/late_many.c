// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A plugin with five 16-byte TLDs: together more than the default reserve. */
#include <tld/tld.h>

TLD_DEFINE_KEY(late_m0, "late.m0", 16);
TLD_DEFINE_KEY(late_m1, "late.m1", 16);
TLD_DEFINE_KEY(late_m2, "late.m2", 16);
TLD_DEFINE_KEY(late_m3, "late.m3", 16);
TLD_DEFINE_KEY(late_m4, "late.m4", 16);
