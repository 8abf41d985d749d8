// The metadata page.
//
// All of the creators' shared state lives in one 64-bit word, so that taking a
// slot, growing the data size and freezing the layout are single
// compare-and-swap steps: creation is lock-free, and a key racing with the
// first block either lands before the freeze (and is sized into every block)
// or after it (and must fit the reserve).  The page itself is
// published as docs/PROTOCOL.md ("Publication") says: name first, then the
// slot's size with release semantics, and the page's `cnt` only ever covers
// published slots.
#include "keys.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace tld::keys {
namespace {

// State word: | frozen:1 | reserve:16 | size:16 | cnt:16 |
struct state {
	std::uint64_t w;
	unsigned cnt() const { return w & 0xffff; }
	std::size_t size() const { return (w >> 16) & 0xffff; }
	std::size_t reserve() const { return (w >> 32) & 0xffff; }
	bool frozen() const { return (w >> 48) & 1; }
	static state make(unsigned cnt, std::size_t size, std::size_t reserve, bool frozen)
	{
		return {std::uint64_t{cnt} | std::uint64_t{size} << 16 |
			std::uint64_t{reserve} << 32 | std::uint64_t{frozen} << 48};
	}
};

std::atomic<std::uint64_t> g_state{0};
// fork() must not copy a slot that is reserved but not yet published: the
// child would wait for it forever.  Creators announce themselves; the fork
// handler waits until none is between its reservation and its publication.
std::atomic<int> g_creating{0};
std::atomic<bool> g_forking{false};
pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;

struct creator_guard {
	creator_guard() noexcept
	{
		for (;;) {
			g_creating.fetch_add(1, std::memory_order_seq_cst);
			if (!g_forking.load(std::memory_order_seq_cst))
				return;
			g_creating.fetch_sub(1, std::memory_order_seq_cst);
			while (g_forking.load(std::memory_order_acquire))
				sched_yield();
		}
	}
	~creator_guard() { g_creating.fetch_sub(1, std::memory_order_release); }
	creator_guard(const creator_guard &) = delete;
	creator_guard &operator=(const creator_guard &) = delete;
};
std::atomic<tld_meta_u *> g_meta{nullptr};

template <typename T> std::atomic_ref<T> aref(T &v) { return std::atomic_ref<T>(v); }

std::size_t reserve_from_env() noexcept
{
	const char *s = secure_getenv("TLD_DYN_DATA_SIZE");	// not for setuid programs
	if (!s || !*s)
		return TLD_DYN_DATA_SIZE_DEFAULT;
	// Only plain decimal digits; anything else, or a reserve that cannot fit
	// a page, leaves the default.
	std::size_t v = 0;
	for (const char *c = s; *c; ++c) {
		if (*c < '0' || *c > '9')
			return TLD_DYN_DATA_SIZE_DEFAULT;
		v = v * 10 + static_cast<std::size_t>(*c - '0');
		if (v > data_capacity())
			return TLD_DYN_DATA_SIZE_DEFAULT;
	}
	if (round8(v) > data_capacity())
		return TLD_DYN_DATA_SIZE_DEFAULT;
	return round8(v);
}

// Make the page's `size` field follow the state word.  Each writer re-checks
// after storing, so the last store always carries the current value.
void sync_page_size(tld_meta_u *m) noexcept
{
	for (;;) {
		state s{g_state.load(std::memory_order_acquire)};
		aref(m->size).store(static_cast<__u16>(s.size()), std::memory_order_release);
		if (g_state.load(std::memory_order_acquire) == s.w)
			return;
	}
}

// Advance the page's `cnt` over every consecutive published slot.
void advance_page_cnt(tld_meta_u *m) noexcept
{
	__u16 c = aref(m->cnt).load(std::memory_order_acquire);
	while (c < TLD_LAYOUT_SLOTS &&
	       aref(m->metadata[c].size).load(std::memory_order_acquire) != 0) {
		if (aref(m->cnt).compare_exchange_weak(c, static_cast<__u16>(c + 1),
						       std::memory_order_acq_rel))
			++c;
	}
}

// Size of slot i, waiting for its creator to publish it: a slot is reserved
// and published by one thread within a few stores, so this wait is short.
std::size_t published_size(tld_meta_u *m, unsigned i) noexcept
{
	for (;;) {
		__u16 sz = aref(m->metadata[i].size).load(std::memory_order_acquire);
		if (sz)
			return sz;
		sched_yield();
	}
}

bool same_name(const tld_metadata &slot, const char *name, std::size_t len) noexcept
{
	return std::memcmp(slot.name, name, len) == 0 &&
	       (len == TLD_LAYOUT_NAME_LEN || slot.name[len] == '\0');
}

void mark_key(std::size_t off) noexcept
{
	std::size_t g = off / 8;
	g_key_bits[g / 64].fetch_or(std::uint64_t{1} << (g % 64), std::memory_order_release);
}

void fork_prepare() noexcept;
void fork_done() noexcept;
void fork_child() noexcept;

} // namespace

std::atomic<std::uint64_t> g_key_bits[max_page_size / 8 / 64];

int check_name(const char *name) noexcept
{
	if (!name)
		return -EINVAL;
	std::size_t len = strnlen(name, TLD_NAME_MAX + 1);
	if (len == 0 || len > TLD_NAME_MAX)
		return -EINVAL;
	return 0;
}

tld_meta_u *meta_page() noexcept
{
	tld_meta_u *m = g_meta.load(std::memory_order_acquire);
	if (m)
		return m;
	void *p = mmap(nullptr, page_size(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return nullptr;
	// The state word is set up before any page is published, so whoever
	// sees the page sees the initial reserve too.
	std::size_t r = reserve_from_env();
	std::uint64_t expected = 0;
	g_state.compare_exchange_strong(expected, state::make(0, r, r, false).w,
					std::memory_order_acq_rel);
	if (!g_meta.compare_exchange_strong(m, static_cast<tld_meta_u *>(p),
					    std::memory_order_acq_rel)) {
		munmap(p, page_size());
		return m;
	}
	m = static_cast<tld_meta_u *>(p);
	pthread_once(&g_atfork_once, [] {
		pthread_atfork(fork_prepare, fork_done, fork_child);
	});
	sync_page_size(m);
	return m;
}

namespace {

void fork_prepare() noexcept
{
	g_forking.store(true, std::memory_order_seq_cst);
	while (g_creating.load(std::memory_order_seq_cst))
		sched_yield();
}

void fork_done() noexcept { g_forking.store(false, std::memory_order_release); }

// The child's only thread is the one that forked: a creator that was about
// to back off when the process forked left its count behind.
void fork_child() noexcept
{
	g_creating.store(0, std::memory_order_relaxed);
	fork_done();
}

} // namespace

int create(const char *name, std::size_t size) noexcept
{
	if (int err = check_name(name))
		return err;
	if (size == 0)
		return -EINVAL;
	if (size > data_capacity() || size > 0xffff)
		return -E2BIG;
	tld_meta_u *m = meta_page();
	if (!m)
		return -ENOMEM;

	const std::size_t len = std::strlen(name);
	const std::size_t r = round8(size);
	creator_guard in_flight;
	state s{g_state.load(std::memory_order_acquire)};
	unsigned walked = 0;
	std::size_t off = 0;
	for (;;) {
		for (; walked < s.cnt(); ++walked) {
			std::size_t sz = published_size(m, walked);
			if (same_name(m->metadata[walked], name, len))
				return -EEXIST;
			off += round8(sz);
		}
		if (s.cnt() >= TLD_LAYOUT_SLOTS)
			return -ENOSPC;
		state next;
		if (!s.frozen()) {
			if (s.size() + r > data_capacity())
				return -E2BIG;
			next = state::make(s.cnt() + 1, s.size() + r, s.reserve(), false);
		} else {
			if (off + r > s.size())
				return -E2BIG;
			next = state::make(s.cnt() + 1, s.size(), s.reserve(), s.frozen());
		}
		if (g_state.compare_exchange_weak(s.w, next.w, std::memory_order_acq_rel))
			break;
	}

	tld_metadata &slot = m->metadata[s.cnt()];
	std::memcpy(slot.name, name, len);
	// A key is valid for tld_data() before anyone can find it by name.
	mark_key(off);
	aref(slot.size).store(static_cast<__u16>(size), std::memory_order_release);
	// Two creators each store their size and then read the other's slot: a
	// full fence keeps both from missing the other, so one of them always
	// advances the page's count over both slots.
	std::atomic_thread_fence(std::memory_order_seq_cst);
	advance_page_cnt(m);
	sync_page_size(m);
	return static_cast<int>(off);
}

int find(const char *name, std::size_t size) noexcept
{
	if (int err = check_name(name))
		return err;
	if (size == 0)
		return -EINVAL;
	tld_meta_u *m = g_meta.load(std::memory_order_acquire);
	if (!m)
		return -ENOENT;
	const std::size_t len = std::strlen(name);
	state s{g_state.load(std::memory_order_acquire)};
	std::size_t off = 0;
	for (unsigned i = 0; i < s.cnt(); ++i) {
		std::size_t sz = published_size(m, i);
		if (same_name(m->metadata[i], name, len))
			return sz == size ? static_cast<int>(off) : -EINVAL;
		off += round8(sz);
	}
	return -ENOENT;
}

int freeze() noexcept
{
	tld_meta_u *m = meta_page();
	if (!m)
		return -ENOMEM;
	g_state.fetch_or(std::uint64_t{1} << 48, std::memory_order_acq_rel);
	return 0;
}

int set_reserve(std::size_t size) noexcept
{
	if (size > data_capacity())
		return -E2BIG;
	tld_meta_u *m = meta_page();
	if (!m)
		return -ENOMEM;
	const std::size_t r = round8(size);
	state s{g_state.load(std::memory_order_acquire)};
	for (;;) {
		if (s.frozen())
			return -EBUSY;
		std::size_t sized = s.size() - s.reserve();	// keys made before any block
		if (sized + r > data_capacity())
			return -E2BIG;
		state next = state::make(s.cnt(), sized + r, r, false);
		if (g_state.compare_exchange_weak(s.w, next.w, std::memory_order_acq_rel))
			break;
	}
	sync_page_size(m);
	return 0;
}

std::size_t data_size() noexcept
{
	return state{g_state.load(std::memory_order_acquire)}.size();
}

} // namespace tld::keys
