// Registered maps: detection of the map's layout, registration of every
// thread in every map, and the TLD_MAP environment variable.
#pragma once

#include <atomic>

#include "threads.hpp"

namespace tld::maps {

// The map fd last passed to tld_get_data() that is known to be registered;
// the fast path of tld_get_data() compares against it and nothing else.
extern std::atomic<int> g_last_fd;

int register_map(int fd) noexcept;
int unregister_map(int fd) noexcept;
int open_pinned(const char *path) noexcept;

// Make sure the map behind `fd` is registered and the calling thread is in
// it; 0 or -errno.
int ensure(int fd) noexcept;

// With g_lock held: add `t` to every registered map it is not in yet.
// Returns 0 or the first -errno (also stored in t->err).
int add_thread(thread_rec *t) noexcept;

// With g_lock held: delete `t`'s element from every map it is in.  Marks
// `t` stale when an element may have been left behind.
void remove_thread(thread_rec *t) noexcept;

// With g_lock held, in a fork child: every map's elements belong to the
// parent's threads; forget them (the maps stay registered).
void forget_all_threads() noexcept;

// Open and register TLD_MAP if set; with g_lock held.  The variable is read
// once per process; a registration that failed is tried again when `retry`
// is true (tld_thread_init()).  Returns the error of the last attempt.
int load_env(bool retry) noexcept;

} // namespace tld::maps
