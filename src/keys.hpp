// The metadata page: key creation, lookup and publication (docs/PROTOCOL.md,
// "The metadata page" and "Publication").
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "layout.hpp"

namespace tld::keys {

// The process's metadata page, mapped on first use; nullptr if mapping failed.
tld_meta_u *meta_page() noexcept;

// Create a TLD: sized into every block while the layout is not frozen, in the
// dynamic reserve afterwards.  Returns the offset or -errno; -EDEADLK when
// the calling thread is already inside create() (a signal handler).
// Creators take a lock; nothing else in this file does.
int create(const char *name, std::size_t size) noexcept;

// Offset of the published TLD `name`, which must have `size` bytes, or -errno.
// Reads only published slots: never waits, async-signal-safe.
int find(const char *name, std::size_t size) noexcept;

// Fix the layout: called before the first block is handed out.  Returns 0 or
// -ENOMEM when the metadata page cannot be mapped.
int freeze() noexcept;

// Set the dynamic reserve; 0 or -errno.
int set_reserve(std::size_t size) noexcept;

// One bit per 8-byte granule of the data area: set where a key starts.
extern std::atomic<std::uint64_t> g_key_bits[max_page_size / 8 / 64];

// True when `off` is the offset of a key this process created.  Inline: with
// the thread's page it is the whole fast path of tld_data().
inline bool is_key(int off) noexcept
{
	const unsigned u = static_cast<unsigned>(off);
	if ((u & 7) || u >= max_page_size)
		return false;
	return g_key_bits[u / 512].load(std::memory_order_acquire) >> (u / 8 % 64) & 1;
}

// Bytes of every thread's data area as published (the page's `size`).
std::size_t data_size() noexcept;

// Check a name: 0 or -EINVAL.
int check_name(const char *name) noexcept;

// Test seam: when set, create() calls it with the name between reserving
// the slot and publishing it.  Not exported: the unit test of interrupted
// creation links the library's objects into its executable to set it.
using publish_hook_fn = void (*)(const char *name) noexcept;
extern publish_hook_fn g_publish_hook;

} // namespace tld::keys
