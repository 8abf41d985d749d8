// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pin-map PATH [OTHER_PATH]: load the verification program
 * (bpf/tld_verify.bpf.c), pin its task storage map tld_data_map at PATH (and
 * its request map, a hash map, at OTHER_PATH), print "ready" and wait until
 * standard input closes; then remove the pins and exit.  It gives the Rust
 * crate's tests a map of the task local data layout to register, which
 * tldctl dump then reads through BPF, and a map of another kind to be
 * refused.  Exits 1 when the program cannot be loaded or a map cannot be
 * pinned.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tld_verify.skel.h"

int main(int argc, char **argv)
{
	struct tld_verify *skel;
	char buf[64];

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: %s PATH [OTHER_PATH]\n", argv[0]);
		return 2;
	}
	skel = tld_verify__open_and_load();
	if (!skel) {
		fprintf(stderr, "pin-map: loading the verification program: %s\n", strerror(errno));
		return 1;
	}
	if (bpf_obj_pin(bpf_map__fd(skel->maps.tld_data_map), argv[1])) {
		fprintf(stderr, "pin-map: pinning at %s: %s\n", argv[1], strerror(errno));
		tld_verify__destroy(skel);
		return 1;
	}
	if (argc == 3 && bpf_obj_pin(bpf_map__fd(skel->maps.verify_reqs), argv[2])) {
		fprintf(stderr, "pin-map: pinning at %s: %s\n", argv[2], strerror(errno));
		unlink(argv[1]);
		tld_verify__destroy(skel);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	unlink(argv[1]);
	if (argc == 3)
		unlink(argv[2]);
	tld_verify__destroy(skel);
	return 0;
}
