// What a map's owner compiled: the map's type, value size and value BTF
// decide which task local data layout it expects (docs/PROTOCOL.md, "Variants
// seen in the wild").
// Shared by the library and tldctl; it holds no state.
#pragma once

#include <linux/bpf.h>

#include "layout.hpp"

namespace tld::detect {

// Information about the BPF map behind `fd`.  0, -EBADF (not an open fd) or
// -EINVAL (not a BPF map).
int map_info(int fd, bpf_map_info &info) noexcept;

// The layout of the map that `info` (from map_info()) describes: 0 with
// `kind` set when it is a task storage map of the version 1 layout or of
// variant B; -EINVAL for anything else (another map type, no UPTR fields,
// variant C, ...).  Reads the map's BTF from the kernel.
int layout_of(const bpf_map_info &info, variant &kind) noexcept;

// map_info() plus layout_of().
int inspect(int fd, bpf_map_info &info, variant &kind) noexcept;

// Why the object behind `fd` is not a map libtld writes, in words that
// follow "PATH: " or "PATH is " ("a program, not a map", "not a BPF map",
// "not a task storage map: an array map", "a task storage map of another
// layout than task local data's (value of 8 bytes; ...)"), for the library's
// diagnostics and tldctl.  Returns a constant or `buf`, which describe_len
// bytes always hold whole.
inline constexpr std::size_t describe_len = 160;
const char *describe(int fd, char *buf, std::size_t len) noexcept;

} // namespace tld::detect
