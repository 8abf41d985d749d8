// Per-thread blocks: the page pool, taking and returning a thread's page,
// thread exit and fork.
#pragma once

#include "threads.hpp"

namespace tld::blocks {

// The calling thread's page, or nullptr before its first lookup.
extern TLD_TLS char *t_page;

// The map fd this thread last confirmed it is registered in through
// tld_get_data(); -1 when none.  Reset whenever the block changes.
extern TLD_TLS int t_map_fd;

// Where the calling thread's page holds its owner tag (just past the data
// area), and the tag: what the inline tld_data() of a caller checks its
// cache against.  t_tagp is nullptr without a block, or when the data area
// leaves no room for the tag (the inline path then always calls in).
extern TLD_TLS std::uint64_t *t_tagp;
extern TLD_TLS std::uint64_t t_tag;

// Take the calling thread's block and register it in every map.  Returns 0
// with t_page set, -ENOMEM without a block, or 0 with the record's err set
// when some registration failed (the block is usable).
int take() noexcept;

// tld_thread_init(): take the block, then retry the registrations (and
// TLD_MAP) that failed.  0 or the first error.
int init_thread() noexcept;

// Give the calling thread's block back (tld_free()).
void release() noexcept;

} // namespace tld::blocks
