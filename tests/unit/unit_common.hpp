// Small helpers shared by the unit tests.
//
// Every process has one metadata page with at most 63 keys, so the unit
// tests run each Catch2 TEST_CASE in a process of its own (see tests/meson.build).
#pragma once

#include <tld/tld.h>
#include <linux/types.h>
#include <tld/tld_layout.h>

#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "../lib/child.hpp"

namespace tldtest {

inline std::size_t page_size() { return static_cast<std::size_t>(sysconf(_SC_PAGESIZE)); }

// Bytes a thread's data area can hold: the page minus the header.
inline std::size_t data_capacity() { return page_size() - TLD_LAYOUT_DATA_START; }

// Text for a (negative or positive) errno, for assertion messages.
inline std::string err_name(int e)
{
	if (e < 0)
		e = -e;
	switch (e) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case E2BIG: return "E2BIG";
	case EEXIST: return "EEXIST";
	case ENOSPC: return "ENOSPC";
	case ENOENT: return "ENOENT";
	case EBUSY: return "EBUSY";
	case EBADF: return "EBADF";
	case ENOMEM: return "ENOMEM";
	case EAGAIN: return "EAGAIN";
	case EPERM: return "EPERM";
	case EDEADLK: return "EDEADLK";
	default: return std::to_string(e);
	}
}

// A key's value as text: "off=N" or "-EXXX".
inline std::string key_str(tld_key_t k)
{
	if (k.off < 0)
		return "-" + err_name(k.off);
	return "off=" + std::to_string(k.off);
}

// The page a thread block lives in, from a pointer tld_data() returned for
// the key at offset `off`.
inline std::uintptr_t block_page(const void *p, int off)
{
	return reinterpret_cast<std::uintptr_t>(p) - static_cast<std::uintptr_t>(off) -
	       TLD_LAYOUT_DATA_START;
}

// For code that runs in a child process: print a failure to stderr and
// return 1, the child's exit status for "a check failed".
inline int child_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
inline int child_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	std::vfprintf(stderr, fmt, ap);
	va_end(ap);
	std::fputc('\n', stderr);
	return 1;
}

} // namespace tldtest
