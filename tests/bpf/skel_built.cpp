// The skeletons the build generated from bpf/*.bpf.c.
#include "skel_elf.hpp"
#include "tld_dump.skel.h"
#include "tld_verify.skel.h"

SKELETON_ELF(built_skeleton_elf)
