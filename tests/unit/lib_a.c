/* Library A of the tld_find_key() test: defines the TLD "shared.counter".
 * Built with hidden visibility: only the two functions below are exported,
 * the key variable itself is not shared with anyone. */
#include <tld/tld.h>

#define LIB_A_API __attribute__((visibility("default")))

TLD_DEFINE_KEY(lib_a_shared_key, "shared.counter", 8);

LIB_A_API void *tldtest_lib_a_counter(void)
{
	return tld_data(lib_a_shared_key);
}

LIB_A_API tld_key_t tldtest_lib_a_key(void)
{
	return lib_a_shared_key;
}
