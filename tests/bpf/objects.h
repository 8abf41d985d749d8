/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The two libraries of test_objects.cpp.  The program and both libraries
 * define a key variable called `same_key` with TLD_DEFINE_KEY(), each for a
 * TLD of its own, and the C++ ones a typed key called `same_typed_key`:
 * every object must keep its own. */
#ifndef TLDTEST_OBJECTS_H
#define TLDTEST_OBJECTS_H

#include <stdint.h>
#include <tld/tld.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Library C (C, two source files). */
tld_key_t objects_c_key(void);
int objects_c_set(uint64_t v);

/* Library C++. */
tld_key_t objects_cpp_key(void);
tld_key_t objects_cpp_typed_key(void);
int objects_cpp_set(uint64_t v, uint64_t typed);

#ifdef __cplusplus
}
#endif

#endif
