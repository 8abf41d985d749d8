/* Opens the parent's BPF object (no load: no privileges needed) and prints
 * the maps and programs it holds, the header's among them. */
#include <stdio.h>

#include "parent.skel.h"

int main(void)
{
	struct parent *skel = parent__open();

	if (!skel) {
		perror("parent__open");
		return 1;
	}
	printf("%s %s %s %s\n", bpf_map__name(skel->maps.tld_data_map),
	       bpf_map__name(skel->maps.tld_key_map), bpf_program__name(skel->progs.parent_switch),
	       bpf_program__name(skel->progs.tld_exec));
	parent__destroy(skel);
	return 0;
}
