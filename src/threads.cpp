// The registry of threads that hold a block, and the library's one lock.
#include "threads.hpp"

namespace tld {

library_lock g_lock;

namespace {

thread_rec *g_threads = nullptr;	// threads holding a block
TLD_TLS thread_rec t_rec;
TLD_TLS bool t_holds_lock = false;

} // namespace

void library_lock::lock() noexcept
{
	// A default mutex: pthread_mutex_lock() fails only for robust, error
	// checking or priority-ceiling mutexes, none of which this is.
	pthread_mutex_lock(&m_);
	t_holds_lock = true;
}

void library_lock::unlock() noexcept
{
	t_holds_lock = false;
	pthread_mutex_unlock(&m_);
}

bool library_lock::held() const noexcept { return t_holds_lock; }

namespace threads {

thread_rec *self() noexcept { return &t_rec; }

thread_rec *head() noexcept
{
	TLD_ASSERT_LOCKED();
	return g_threads;
}

void link(thread_rec *t) noexcept
{
	TLD_ASSERT_LOCKED();
	t->prev = nullptr;
	t->next = g_threads;
	if (g_threads)
		g_threads->prev = t;
	g_threads = t;
}

void unlink(thread_rec *t) noexcept
{
	TLD_ASSERT_LOCKED();
	if (t->prev)
		t->prev->next = t->next;
	else
		g_threads = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->prev = t->next = nullptr;
}

namespace {

constexpr int near_fds = TLD_PRIV_FD_BITS;
constexpr int fd_words = TLD_PRIV_FD_BITS / 64;

std::uint64_t bit_of(int fd) noexcept { return std::uint64_t{1} << (fd % 64); }

} // namespace

bool knows(const thread_rec *t, int fd) noexcept
{
	if (fd < 0)
		return false;
	if (fd < near_fds)
		return t->fd_bits && (__atomic_load_n(&t->fd_bits[fd / 64], __ATOMIC_RELAXED) & bit_of(fd));
	for (const int &f : t->far_fds)
		if (__atomic_load_n(&f, __ATOMIC_RELAXED) == fd)
			return true;
	return false;
}

void remember(thread_rec *t, int fd) noexcept
{
	TLD_ASSERT_LOCKED();
	if (fd < 0 || knows(t, fd))
		return;
	if (fd < near_fds) {
		if (t->fd_bits)
			__atomic_store_n(&t->fd_bits[fd / 64], t->fd_bits[fd / 64] | bit_of(fd),
					 __ATOMIC_RELAXED);
		return;
	}
	int *slot = &t->far_fds[t->far_next++ % TLD_MAPS_MAX];	// the next in turn
	for (int &f : t->far_fds)
		if (f < 0) {
			slot = &f;	// unless one is free
			break;
		}
	__atomic_store_n(slot, fd, __ATOMIC_RELAXED);
}

void forget(thread_rec *t, int fd) noexcept
{
	TLD_ASSERT_LOCKED();
	if (t->fd_bits && fd < 0) {
		for (int w = 0; w < fd_words; ++w)
			__atomic_store_n(&t->fd_bits[w], 0, __ATOMIC_RELAXED);
	} else if (t->fd_bits && fd < near_fds) {
		__atomic_store_n(&t->fd_bits[fd / 64], t->fd_bits[fd / 64] & ~bit_of(fd), __ATOMIC_RELAXED);
	}
	for (int &f : t->far_fds)
		if (fd < 0 || f == fd)
			__atomic_store_n(&f, -1, __ATOMIC_RELAXED);
}

} // namespace threads
} // namespace tld
