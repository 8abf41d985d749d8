// The skeletons committed under bpf/prebuilt/.
#include <cstddef>
#include <cstring>

#include "prebuilt/tld_dump.skel.h"
#include "prebuilt/tld_verify.skel.h"

const void *prebuilt_skeleton_elf(const char *name, std::size_t *size)
{
	if (!std::strcmp(name, "tld_verify"))
		return tld_verify__elf_bytes(size);
	if (!std::strcmp(name, "tld_dump"))
		return tld_dump__elf_bytes(size);
	return nullptr;
}
