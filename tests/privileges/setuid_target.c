// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Run as a setuid-root program by an unprivileged user (test_privileges.cpp):
 * takes its block, creates a 1024-byte key after it, prints
 * "init=<tld_thread_init()> late=<the key or its error>" and waits until
 * standard input reaches end of file.  libtld is built into it, since the
 * loader ignores library paths of the environment for setuid programs.
 */
#include <stdio.h>
#include <unistd.h>

#include <tld/tld.h>

int main(void)
{
	char c;
	int init = tld_thread_init();
	tld_key_t late = tld_create_key("setuid.late", 1024);

	printf("init=%d late=%d\n", init, late.off);
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
