// Per-thread blocks.
//
// Every block is one whole page from a pool of pages the library maps
// itself: the page starts with the 8-byte header (start = 8), so every reader
// of the layout finds `start` at offset 0 of the page the UPTR points at, and
// no heap memory is ever pinned by the kernel.  A page goes back to the pool
// only after the thread's element is gone from every map.
#include "blocks.hpp"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "keys.hpp"
#include "maps.hpp"

namespace tld::blocks {
namespace {

// The pool: pages given back, then the untouched rest of the newest chunk.
struct free_page {
	free_page *next;
};
free_page *g_free = nullptr;
char *g_fresh = nullptr;
std::size_t g_fresh_left = 0;
constexpr std::size_t chunk_pages = 64;

// Page offset of the owner tag, fixed with the layout at the first block;
// 0 when the data area fills the page.  Tags count up from 1 and are never
// reused, so a page that changed hands never matches an old cache.
std::size_t g_tag_off = 0;
std::uint64_t g_next_tag = 1;

pthread_key_t g_exit_key;
pthread_once_t g_once = PTHREAD_ONCE_INIT;
int g_once_err = 0;

void *pool_take() noexcept
{
	if (g_free) {
		free_page *p = g_free;
		g_free = p->next;
		p->next = nullptr;
		return p;
	}
	if (!g_fresh_left) {
		void *c = mmap(nullptr, chunk_pages * page_size(), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (c == MAP_FAILED)
			return nullptr;
		g_fresh = static_cast<char *>(c);
		g_fresh_left = chunk_pages;
	}
	void *p = g_fresh;
	g_fresh += page_size();
	--g_fresh_left;
	return p;
}

// Zero a page.  The tag goes first, with an atomic store: another thread
// whose cache still names this page may be reading it, and a signal handler
// of this thread must not write through its cache into a page being wiped.
void wipe(void *page) noexcept
{
	char *p = static_cast<char *>(page);
	if (g_tag_off) {
		__atomic_store_n(reinterpret_cast<std::uint64_t *>(p + g_tag_off), 0,
				 __ATOMIC_RELAXED);
		std::atomic_signal_fence(std::memory_order_seq_cst);
		std::memset(p, 0, g_tag_off);
		std::memset(p + g_tag_off + 8, 0, page_size() - g_tag_off - 8);
	} else {
		std::memset(p, 0, page_size());
	}
}

void pool_give(void *page) noexcept
{
	wipe(page);
	auto *p = static_cast<free_page *>(page);
	p->next = g_free;
	g_free = p;
}

// Drop the thread's block with g_lock held: out of every map, then to the
// pool.  A page that some map may still point at (pidfd_open() or the delete
// failed) is zeroed, so that BPF finds nothing in it, and never reused: a
// page lost is better than BPF reading another thread's data.
void drop_locked(thread_rec *t) noexcept
{
	TLD_ASSERT_LOCKED();
	maps::remove_thread(t);
	threads::unlink(t);
	if (t->stale)
		wipe(t->page);
	else
		pool_give(t->page);
	t->page = nullptr;
	t->in_maps = 0;
	t->err = 0;
	t->stale = false;
}

void on_thread_exit(void *arg) noexcept
{
	auto *t = static_cast<thread_rec *>(arg);
	{
		locked g(g_lock);
		if (t->page)
			drop_locked(t);
	}
	t_page = nullptr;
	t_map_fd = -1;
	t_tagp = nullptr;
}

void before_fork() noexcept { g_lock.lock(); }
void after_fork_parent() noexcept { g_lock.unlock(); }

// The child has one thread: the one that forked.  It keeps its block at the
// same address and registers it for its own task; the other threads' pages
// are copies nobody owns any more and go back to the pool.
void after_fork_child() noexcept
{
	thread_rec *self = threads::self();
	threads::for_each([self](thread_rec *t) {
		if (t != self) {
			threads::unlink(t);
			pool_give(t->page);
			t->page = nullptr;
			t->stale = false;
		}
	});
	maps::forget_all_threads();
	t_map_fd = -1;
	if (self->page) {
		self->tid = static_cast<pid_t>(syscall(SYS_gettid));
		self->in_maps = 0;
		self->err = 0;
		self->stale = false;	// the parent's elements point at the parent's pages
		maps::add_thread(self);
	}
	g_lock.unlock();
}

void init_once() noexcept
{
	g_once_err = -pthread_key_create(&g_exit_key, on_thread_exit);
	if (!g_once_err)
		g_once_err = -pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

} // namespace

TLD_TLS char *t_page = nullptr;
TLD_TLS int t_map_fd = -1;
TLD_TLS std::uint64_t *t_tagp = nullptr;
TLD_TLS std::uint64_t t_tag = 0;

int take() noexcept
{
	if (t_page)
		return 0;
	pthread_once(&g_once, init_once);
	if (g_once_err)
		return g_once_err;
	if (int err = keys::freeze())
		return err;
	{
		locked g(g_lock);
		thread_rec *t = threads::self();
		void *page = pool_take();
		if (!page)
			return -ENOMEM;
		auto *d = static_cast<tld_data_u *>(page);
		d->start = TLD_LAYOUT_DATA_START;
		if (!g_tag_off) {
			std::size_t off = TLD_LAYOUT_DATA_START + keys::data_size();	// frozen
			if (off + 8 <= page_size())
				g_tag_off = off;
		}
		if (g_tag_off) {
			t_tag = g_next_tag++;
			t_tagp = reinterpret_cast<std::uint64_t *>(static_cast<char *>(page) + g_tag_off);
			__atomic_store_n(t_tagp, t_tag, __ATOMIC_RELAXED);
		}
		t->tid = static_cast<pid_t>(syscall(SYS_gettid));
		t->page = d;
		t->in_maps = 0;
		t->err = 0;
		threads::link(t);
		pthread_setspecific(g_exit_key, t);
		int env_err = maps::load_env(false);
		maps::add_thread(t);
		if (!t->err)
			t->err = env_err;
	}
	t_map_fd = -1;
	t_page = reinterpret_cast<char *>(threads::self()->page);
	return 0;
}

int init_thread() noexcept
{
	if (int err = take())
		return err;
	locked g(g_lock);
	int env_err = maps::load_env(true);
	int err = maps::add_thread(threads::self());
	return err ? err : env_err;
}

void release() noexcept
{
	thread_rec *t = threads::self();
	if (!t->page)
		return;
	t_page = nullptr;
	t_map_fd = -1;
	t_tagp = nullptr;
	locked g(g_lock);
	drop_locked(t);
	pthread_setspecific(g_exit_key, nullptr);
}

} // namespace tld::blocks
