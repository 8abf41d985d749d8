/* A C program that knows libtld only through pkg-config. */
#include <stdio.h>
#include <tld/tld.h>

TLD_DEFINE_KEY(counter, "consumer.c.counter", sizeof(long));

int main(void)
{
	long *p = tld_data(counter);

	if (tld_key_is_err(counter) || !p)
		return 1;
	*p = 41;
	++*(long *)tld_data(counter);
	printf("%ld\n", *p);
	return *p == 42 ? 0 : 1;
}
