// The page pool: whole pages for thread blocks, mapped by the library in
// chunks, reused, and given back to the kernel beyond a small cache.
#pragma once

#include <cstddef>

namespace tld::pool {

// Free pages kept resident for reuse; pages given back beyond these are
// returned to the kernel (MADV_DONTNEED).
inline constexpr std::size_t cache_pages = 64;

// With g_lock held: a zero-filled page, or nullptr when none can be mapped.
void *take() noexcept;

// With g_lock held: `page` is free again.  Its owner tag must already be
// cleared.  `pinned`: a map element may still point at the page, so its
// contents are zeroed in place (a BPF reader of that element sees nothing)
// and then the page is detached from the address (the kernel keeps the
// zeroed page while the element pins it; the address gets a fresh one).
void give(void *page, bool pinned) noexcept;

} // namespace tld::pool
