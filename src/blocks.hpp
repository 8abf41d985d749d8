// Per-thread blocks: the page pool, taking and returning a thread's page,
// thread exit and fork.
#pragma once

#include "threads.hpp"

namespace tld::blocks {

// The calling thread's state as the inline tld_data() and tld_get_data() of
// <tld/tld.h> read it: data is the thread's data area (its page + 8), or
// nullptr before its first lookup.  Set and cleared by this module only.
extern TLD_TLS tld_priv_thread t_thread;

// The offset of t_thread from the thread pointer, the same in every thread.
std::ptrdiff_t thread_offset() noexcept;

// The calling thread's page, or nullptr.
inline char *page() noexcept
{
	return t_thread.data ? t_thread.data - TLD_LAYOUT_DATA_START : nullptr;
}

// Where the calling thread's page holds its owner tag (just past the data
// area), and the tag: what the inline tld_data() of objects built with
// libtld 0.2 checks its cache against.  t_tagp is nullptr without a block,
// or when the data area leaves no room for the tag.
extern TLD_TLS std::uint64_t *t_tagp;
extern TLD_TLS std::uint64_t t_tag;

// Take the calling thread's block and register it in every map.  Returns 0
// with t_thread.data set, -ENOMEM without a block, or 0 with the record's err set
// when some registration failed (the block is usable).
int take() noexcept;

// tld_thread_init(): take the block, then retry the registrations (and
// TLD_MAP) that failed.  0 or the first error.
int init_thread() noexcept;

// Give the calling thread's block back (tld_free()).
void release() noexcept;

} // namespace tld::blocks
