// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The image a test process execs into: it publishes the TLDs of
 * test_consumer.cpp's "exec" cases in another layout than the image before
 * (exec.b, exec.c, exec.a at offsets 0, 8, 16, holding 20, 30 and 10),
 * registers in the map named by TLD_MAP, writes 'R' to descriptor 3 and
 * waits until descriptor 4 reaches end of file.
 */
#include <tld/tld.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	static const char *names[] = {"exec.b", "exec.c", "exec.a"};
	static const uint64_t values[] = {20, 30, 10};
	char c;
	int i;

	for (i = 0; i < 3; i++) {
		tld_key_t k = tld_create_key(names[i], 8);
		uint64_t *p = tld_data(k);

		if (!p)
			return 1;
		*p = values[i];
	}
	if (tld_thread_init())
		return 2;
	if (write(3, "R", 1) != 1)
		return 3;
	while (read(4, &c, 1) > 0)
		;
	return 0;
}
