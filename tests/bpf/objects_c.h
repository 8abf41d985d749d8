/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Library C's own header: its key variable, shared by its source files. */
#ifndef TLDTEST_OBJECTS_C_H
#define TLDTEST_OBJECTS_C_H

#include <tld/tld.h>

extern tld_key_t same_key;

#endif
