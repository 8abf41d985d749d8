/* Library B of the tld_find_key() test: uses the TLD "shared.counter" that
 * library A defines, knowing only its name and size. */
#include <tld/tld.h>

#define LIB_B_API __attribute__((visibility("default")))

LIB_B_API tld_key_t tldtest_lib_b_key(void)
{
	return tld_find_key("shared.counter", 8);
}

LIB_B_API void *tldtest_lib_b_counter(void)
{
	tld_key_t k = tld_find_key("shared.counter", 8);
	return tld_data(k);
}
