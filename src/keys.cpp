// The metadata page.
//
// Creators take one lock, a priority-inheritance mutex, so that a creator
// that waits for another lends it its priority: a real-time thread never
// waits behind a creator that cannot run.  Under the lock a creator writes
// the slot's name, stores its size with release semantics, and only then
// advances the page's `cnt` over it (docs/PROTOCOL.md, "Publication"), so `cnt` only ever covers
// published slots: tld_find_key() and BPF readers walk the slots below
// `cnt` and never wait for anyone.  A signal handler that interrupts its
// own thread's creation gets -EDEADLK instead of waiting for itself.
//
// The data size, the reserve and the freeze live in one atomic word outside
// the lock, because blocks.cpp freezes the layout at a thread's first block
// without taking it: a key racing with the first block either lands before
// the freeze (and is sized into every block) or after it (and must fit the
// reserve).
#include "keys.hpp"

#include <pthread.h>
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "threads.hpp"

namespace tld::keys {
namespace {

// State word: | frozen:1 | reserve:16 | size:16 |
struct state {
	std::uint64_t w;
	std::size_t size() const { return w & 0xffff; }
	std::size_t reserve() const { return (w >> 16) & 0xffff; }
	bool frozen() const { return (w >> 32) & 1; }
	static state make(std::size_t size, std::size_t reserve, bool frozen)
	{
		return {std::uint64_t{size} | std::uint64_t{reserve} << 16 |
			std::uint64_t{frozen} << 32};
	}
};
constexpr std::uint64_t frozen_bit = std::uint64_t{1} << 32;

std::atomic<std::uint64_t> g_state{0};
std::atomic<tld_meta_u *> g_meta{nullptr};

// The creation lock, set up on the first creation; the fork handlers are
// registered under it by the first creation that can.
pthread_mutex_t g_create_lock;
pthread_once_t g_create_once = PTHREAD_ONCE_INIT;
bool g_atfork_registered = false;

// Where the calling thread is in create().  A signal handler that runs
// while it is not idle must not wait for the lock (its own thread holds it,
// or may be inside pthread_mutex_lock()), and neither may a fork handler
// run by a fork() in such a handler.
enum : unsigned char { idle, entering, holding };
TLD_TLS unsigned char t_creating = idle;

void set_creating(unsigned char v) noexcept
{
	std::atomic_signal_fence(std::memory_order_seq_cst);
	t_creating = v;
	std::atomic_signal_fence(std::memory_order_seq_cst);
}

void fork_prepare() noexcept;
void fork_parent() noexcept;
void fork_child() noexcept;

// A priority-inheritance mutex where the system has them, a plain one
// otherwise.
bool g_lock_is_pi = false;

void init_lock() noexcept
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	g_lock_is_pi = pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT) == 0 &&
		       pthread_mutex_init(&g_create_lock, &a) == 0;
	if (!g_lock_is_pi)
		pthread_mutex_init(&g_create_lock, nullptr);
	pthread_mutexattr_destroy(&a);
}

#if defined(__SANITIZE_THREAD__)
constexpr bool thread_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool thread_sanitizer = true;
#else
constexpr bool thread_sanitizer = false;
#endif
#else
constexpr bool thread_sanitizer = false;
#endif

// fork() takes the lock, so that the child never copies a slot that is half
// written, unless the forking thread is itself inside create() (fork() from
// a signal handler that interrupted it): it cannot wait for itself.
void fork_prepare() noexcept
{
	if (t_creating == idle)
		pthread_mutex_lock(&g_create_lock);
}

void fork_parent() noexcept
{
	if (t_creating == idle)
		pthread_mutex_unlock(&g_create_lock);
}

// The child makes the lock anew, held again if the interrupted creation of
// the forking thread held it, so that this creation ends by unlocking it as
// usual.  A priority-inheritance mutex records the parent's thread as its
// owner and cannot be unlocked here; a plain one is unlocked first, and so
// is every one under ThreadSanitizer (glibc refuses the unlock of the
// former with EPERM), which otherwise keeps counting the lock as held.
void fork_child() noexcept
{
	if (t_creating != entering && (!g_lock_is_pi || thread_sanitizer))
		pthread_mutex_unlock(&g_create_lock);	// taken by fork_prepare() or the creation
	init_lock();
	if (t_creating == holding)
		pthread_mutex_lock(&g_create_lock);
}

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

bool same_name(const tld_metadata &slot, const char *name, std::size_t len) noexcept
{
	return std::memcmp(slot.name, name, len) == 0 &&
	       (len == TLD_LAYOUT_NAME_LEN || slot.name[len] == '\0');
}

void mark_key(std::size_t off) noexcept
{
	g_key_marks[off].store(1, std::memory_order_release);
}

// The creation proper, with the lock held: every slot below the page's
// `cnt` is published, and nobody else writes the page.
int publish(tld_meta_u *m, const char *name, std::size_t size) noexcept
{
	const std::size_t len = std::strlen(name);
	const unsigned cnt = aref(m->cnt).load(std::memory_order_relaxed);
	std::size_t off = 0;
	for (unsigned i = 0; i < cnt; ++i) {
		if (same_name(m->metadata[i], name, len))
			return -EEXIST;
		off += round8(aref(m->metadata[i].size).load(std::memory_order_relaxed));
	}
	if (cnt >= TLD_LAYOUT_SLOTS)
		return -ENOSPC;
	const std::size_t r = round8(size);
	state s{g_state.load(std::memory_order_acquire)};
	for (;;) {
		if (s.frozen()) {
			// The size of a frozen layout never changes again.
			if (off + r > s.size())
				return -E2BIG;
			break;
		}
		if (s.size() + r > data_capacity())
			return -E2BIG;
		const state next = state::make(s.size() + r, s.reserve(), false);
		if (g_state.compare_exchange_weak(s.w, next.w, std::memory_order_acq_rel))
			break;
	}

	// Readers look at a slot only once `cnt` covers it: plain stores do
	// for the name, and every byte of it is written, since a child of a
	// fork() may find a name left half written here.
	tld_metadata &slot = m->metadata[cnt];
	std::memcpy(slot.name, name, len);
	std::memset(slot.name + len, 0, TLD_LAYOUT_NAME_LEN - len);
	// A key is valid for tld_data() before anyone can find it by name.
	mark_key(off);
	if (publish_hook_fn hook = g_publish_hook)
		hook(name);
	aref(slot.size).store(static_cast<__u16>(size), std::memory_order_release);
	aref(m->cnt).store(static_cast<__u16>(cnt + 1), std::memory_order_release);
	sync_page_size(m);
	return static_cast<int>(off);
}

} // namespace

std::atomic<unsigned char> g_key_marks[key_marks_len];
publish_hook_fn g_publish_hook = nullptr;

int check_name(const char *name) noexcept
{
	if (!name)
		return -EINVAL;
	std::size_t len = strnlen(name, TLD_NAME_MAX + 1);
	if (len == 0 || len > TLD_NAME_MAX)
		return -EINVAL;
	return 0;
}

// The arguments every key function checks: a name check_name() takes and a
// size above 0.  0 or -EINVAL.
static int check_key(const char *name, std::size_t size) noexcept
{
	if (int err = check_name(name))
		return err;
	return size == 0 ? -EINVAL : 0;
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
	g_state.compare_exchange_strong(expected, state::make(r, r, false).w,
					std::memory_order_acq_rel);
	if (!g_meta.compare_exchange_strong(m, static_cast<tld_meta_u *>(p),
					    std::memory_order_acq_rel)) {
		munmap(p, page_size());
		return m;
	}
	m = static_cast<tld_meta_u *>(p);
	sync_page_size(m);
	return m;
}

int create(const char *name, std::size_t size) noexcept
{
	if (int err = check_key(name, size))
		return err;
	if (size > data_capacity() || size > 0xffff)
		return -E2BIG;
	if (t_creating != idle)
		return -EDEADLK;	// a signal handler of a thread inside create()
	tld_meta_u *m = meta_page();
	if (!m)
		return -ENOMEM;

	set_creating(entering);
	pthread_once(&g_create_once, init_lock);
	if (pthread_mutex_lock(&g_create_lock) != 0) {
		set_creating(idle);
		return -EAGAIN;
	}
	set_creating(holding);
	int r = -ENOMEM;
	if (g_atfork_registered ||
	    pthread_atfork(fork_prepare, fork_parent, fork_child) == 0) {
		g_atfork_registered = true;
		r = publish(m, name, size);
	}
	set_creating(entering);
	pthread_mutex_unlock(&g_create_lock);
	set_creating(idle);
	return r;
}

int find(const char *name, std::size_t size) noexcept
{
	if (int err = check_key(name, size))
		return err;
	tld_meta_u *m = g_meta.load(std::memory_order_acquire);
	if (!m)
		return -ENOENT;
	const std::size_t len = std::strlen(name);
	unsigned cnt = aref(m->cnt).load(std::memory_order_acquire);
	if (cnt > TLD_LAYOUT_SLOTS)
		cnt = TLD_LAYOUT_SLOTS;
	std::size_t off = 0;
	for (unsigned i = 0; i < cnt; ++i) {
		const std::size_t sz = aref(m->metadata[i].size).load(std::memory_order_relaxed);
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
	g_state.fetch_or(frozen_bit, std::memory_order_acq_rel);
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
		state next = state::make(sized + r, r, false);
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
