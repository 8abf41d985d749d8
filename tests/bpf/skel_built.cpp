// The skeleton the build generated from bpf/tld_verify.bpf.c.
#include <cstddef>

#include "tld_verify.skel.h"

const void *built_skeleton_elf(std::size_t *size) { return tld_verify__elf_bytes(size); }
