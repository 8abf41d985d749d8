// The skeleton committed under bpf/prebuilt/.
#include <cstddef>

#include "prebuilt/tld_verify.skel.h"

const void *prebuilt_skeleton_elf(std::size_t *size) { return tld_verify__elf_bytes(size); }
