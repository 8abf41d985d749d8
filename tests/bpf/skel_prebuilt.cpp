// The skeletons committed under bpf/prebuilt/.
#include "prebuilt/tld_dump.skel.h"
#include "prebuilt/tld_verify.skel.h"
#include "skel_elf.hpp"

SKELETON_ELF(prebuilt_skeleton_elf)
