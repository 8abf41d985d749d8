/* A C program that calls libbpf itself beside libtld: it must link libbpf
 * too (tld.pc names libbpf only in Requires.private). */
#include <bpf/libbpf.h>
#include <stdio.h>
#include <tld/tld.h>

TLD_DEFINE_KEY(counter, "consumer.libbpf.counter", sizeof(long));

int main(void)
{
	long *p = tld_data(counter);

	if (tld_key_is_err(counter) || !p || libbpf_major_version() < 1)
		return 1;
	*p = 42;
	printf("%ld\n", *p);
	return 0;
}
