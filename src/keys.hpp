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

// One byte per value of a key's 16 bits, taken as unsigned: 1 where a key
// of this process starts, 0 elsewhere (a negative key lands past every
// offset).  64 KiB of zero-filled memory of which only the pages around the
// keys are ever touched; one load and no arithmetic in the inline paths.
inline constexpr std::size_t key_marks_len = 65536;
static_assert(key_marks_len == std::size_t{1} << (8 * sizeof(tld_key_t{}.off)));
extern std::atomic<unsigned char> g_key_marks[key_marks_len];

// True when `off` is the offset of a key this process created.  Inline: with
// the thread's page it is the whole fast path of tld_data().
inline bool is_key(int off) noexcept
{
	return g_key_marks[static_cast<std::uint16_t>(off)].load(std::memory_order_acquire) != 0;
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
