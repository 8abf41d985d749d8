// Registered maps: the map table, registrations counted per owner, pinned
// paths followed when the consumer replaces its map, TLD_MAP, and the
// elements of every thread in every map.
#pragma once

#include <atomic>
#include <cstdint>

#include "threads.hpp"

namespace tld::maps {

// The C API's registrations: 0 (or a descriptor) or -errno.
int register_map(int fd) noexcept;
int unregister_map(int fd) noexcept;
int open_pinned(const char *path) noexcept;
int unregister_path(const char *path) noexcept;

// tld_get_data(): make sure the map behind `fd` is registered (by the
// process, if no owner registered it) and the calling thread is in it,
// then remember `fd` for the thread (threads::remember()): until the
// thread leaves the map or `fd` is registered again, threads::knows()
// answers without a system call.  A thread that holds a late block is in
// no map and remembers nothing.  0 or -errno.
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

// With g_lock held, when a thread takes its block (`now` false) or calls
// tld_thread_init() (`now` true): register TLD_MAP the first time, and
// look at every registered pin again (at most once a second unless `now`),
// following a pin whose map was replaced.  Returns the first error of a
// pinned path that is not registered, or 0.
int follow_pins(bool now) noexcept;

} // namespace tld::maps
