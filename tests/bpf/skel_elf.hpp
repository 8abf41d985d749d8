// The object of each skeleton of bpf/, by name, for skel_built.cpp and
// skel_prebuilt.cpp: each includes one set of skeleton headers (the same
// names, so one translation unit each) and then defines its function with
// SKELETON_ELF.
#pragma once

#include <cstddef>
#include <cstring>

// const void *fn(const char *name, std::size_t *size): the ELF object of the
// skeleton `name` and its size, or nullptr for another name.
#define SKELETON_ELF(fn)                                                       \
	const void *fn(const char *name, std::size_t *size)                    \
	{                                                                      \
		if (!std::strcmp(name, "tld_verify"))                          \
			return tld_verify__elf_bytes(size);                    \
		if (!std::strcmp(name, "tld_dump"))                            \
			return tld_dump__elf_bytes(size);                      \
		return nullptr;                                                \
	}
