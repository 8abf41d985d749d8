// The page pool.
//
// Pages come in chunks of 64 that the library maps itself, so that no heap
// memory is ever pinned by the kernel.  Each chunk has a descriptor outside
// its pages with two bitmaps: free pages, and free pages that are resident
// (touched since they were last given back to the kernel).  A page handed
// out is zero-filled: resident free pages are zeroed when they are given
// back, the others read as zero from the kernel.  Up to cache_pages free
// pages stay resident; beyond, a page is returned to the kernel at once, so
// that a spike of threads leaves no memory behind.
#include "pool.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <new>

#include "layout.hpp"
#include "threads.hpp"

namespace tld::pool {
namespace {

constexpr unsigned chunk_pages = 64;

struct chunk {
	char *base;
	std::uint64_t free;		// bit i: page i is free
	std::uint64_t resident;		// bit i: page i is free and resident
	chunk *next;
};

chunk *g_chunks = nullptr;
std::size_t g_resident_free = 0;

char *page_of(const chunk *c, unsigned i) { return c->base + i * page_size(); }

chunk *chunk_of(const void *page) noexcept
{
	const char *p = static_cast<const char *>(page);
	for (chunk *c = g_chunks; c; c = c->next)
		if (p >= c->base && p < c->base + chunk_pages * page_size())
			return c;
	return nullptr;
}

chunk *new_chunk() noexcept
{
	auto *c = new (std::nothrow) chunk;
	if (!c)
		return nullptr;
	void *m = mmap(nullptr, chunk_pages * page_size(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		delete c;
		return nullptr;
	}
	*c = {static_cast<char *>(m), ~std::uint64_t{0}, 0, g_chunks};
	g_chunks = c;
	return c;
}

// Return the page's memory to the kernel; false if it could not be done.
bool to_kernel(void *page) noexcept { return madvise(page, page_size(), MADV_DONTNEED) == 0; }

} // namespace

void *take() noexcept
{
	TLD_ASSERT_LOCKED();
	chunk *any = nullptr;
	for (chunk *c = g_chunks; c; c = c->next) {
		if (c->resident) {
			const unsigned i = static_cast<unsigned>(__builtin_ctzll(c->resident));
			c->resident &= ~(std::uint64_t{1} << i);
			c->free &= ~(std::uint64_t{1} << i);
			--g_resident_free;
			return page_of(c, i);
		}
		if (!any && c->free)
			any = c;
	}
	if (!any && !(any = new_chunk()))
		return nullptr;
	const unsigned i = static_cast<unsigned>(__builtin_ctzll(any->free));
	any->free &= ~(std::uint64_t{1} << i);
	return page_of(any, i);
}

void give(void *page, bool pinned) noexcept
{
	TLD_ASSERT_LOCKED();
	chunk *c = chunk_of(page);
	if (!c)
		return;
	const auto bit = std::uint64_t{1} << ((static_cast<char *>(page) - c->base) / page_size());
	if (pinned)
		std::memset(page, 0, page_size());	// what the element's reader sees
	if (!(pinned || g_resident_free >= cache_pages) || !to_kernel(page)) {
		// Kept resident, zeroed, unless an element may point at it and it
		// could not be detached: then it is lost, never reused.
		if (pinned)
			return;
		std::memset(page, 0, page_size());
		c->resident |= bit;
		++g_resident_free;
	}
	c->free |= bit;
}

} // namespace tld::pool
