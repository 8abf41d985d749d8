// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A plugin with five 16-byte TLDs: together more than the default reserve. */
#include <tld/tld.h>

TLD_DEFINE_KEY(late_m0, "late.m0", 16);
TLD_DEFINE_KEY(late_m1, "late.m1", 16);
TLD_DEFINE_KEY(late_m2, "late.m2", 16);
TLD_DEFINE_KEY(late_m3, "late.m3", 16);
TLD_DEFINE_KEY(late_m4, "late.m4", 16);

tld_key_t tldtest_late_m0_key(void) { return late_m0; }
tld_key_t tldtest_late_m1_key(void) { return late_m1; }
tld_key_t tldtest_late_m2_key(void) { return late_m2; }
tld_key_t tldtest_late_m3_key(void) { return late_m3; }
tld_key_t tldtest_late_m4_key(void) { return late_m4; }
