// Per-thread blocks.
//
// Every block is one whole page from the pool (pool.cpp): the page starts
// with the 8-byte header (start = 8), so every reader of the layout finds
// `start` at offset 0 of the page the UPTR points at.  A page goes back to
// the pool only after the thread's element is gone from every map, or
// detached from its address when an element may remain.
//
// Thread exit: a pthread key destructor deletes the thread's elements and
// gives the page back.  Another library's destructor may run after it, in
// any of glibc's destructor rounds, and look a TLD up again: that thread
// gets a "late" block that is in no map and in no registry, so that no
// record outlives the thread; the page comes back when libtld's destructor
// runs again, or, after the last round, once the thread is seen gone.
#include "blocks.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "keys.hpp"
#include "maps.hpp"
#include "pool.hpp"

namespace tld::blocks {
namespace {

// Page offset of the owner tag, fixed with the layout at the first block;
// 0 when the data area fills the page.  Tags count up from 1 and are never
// reused, so a page that changed hands never matches an old cache.
std::size_t g_tag_off = 0;
std::uint64_t g_next_tag = 1;

pthread_key_t g_exit_key;
bool g_key_made = false;	// g_lock; retried until pthread_key_create succeeds
bool g_atfork_set = false;

// Late blocks whose thread may still run: the page, and the thread's id,
// by which tgkill() tells when it is gone.  No descriptor: a late block is
// taken with no map registered, in an exiting thread, maybe at the limit
// of descriptors or where pidfd_open() is refused.  g_lock held.
struct late_block {
	void *page;
	pid_t tid;
	late_block *next;
};
late_block *g_late = nullptr;
TLD_TLS bool t_exiting = false;		// libtld's destructor ran in this thread
TLD_TLS late_block *t_late = nullptr;	// this thread's late block

// The tag goes first, with an atomic store: another thread whose cache
// still names this page may be reading it, and a signal handler of this
// thread must not write through its cache into a page being given back.
void clear_tag(void *page) noexcept
{
	if (g_tag_off) {
		__atomic_store_n(reinterpret_cast<std::uint64_t *>(static_cast<char *>(page) + g_tag_off),
				 0, __ATOMIC_RELAXED);
		std::atomic_signal_fence(std::memory_order_seq_cst);
	}
}

// The block's address for the inline paths, last: a signal handler of this
// thread sees no block or a complete one.  With g_lock held: the new block
// is in no map of a descriptor the thread used before.
void set_data(char *page) noexcept
{
	TLD_ASSERT_LOCKED();
	static_assert(sizeof(keys::g_key_marks[0]) == 1);
	t_thread.key_marks = reinterpret_cast<const unsigned char *>(keys::g_key_marks);
	thread_rec *self = threads::self();
	self->fd_bits = t_thread.fds;
	threads::forget(self, -1);
	std::atomic_signal_fence(std::memory_order_seq_cst);
	t_thread.data = page + TLD_LAYOUT_DATA_START;
}

void clear_tls() noexcept
{
	t_thread.data = nullptr;
	std::atomic_signal_fence(std::memory_order_seq_cst);
	t_tagp = nullptr;
}

// Drop the thread's block with g_lock held: out of every map, then to the
// pool.  A page that some map may still point at (an element could not be
// deleted) is zeroed and detached from its address by the pool.
void drop_locked(thread_rec *t) noexcept
{
	TLD_ASSERT_LOCKED();
	maps::remove_thread(t);
	threads::forget(t, -1);
	threads::unlink(t);
	clear_tag(t->page);
	pool::give(t->page, t->stale);
	t->page = nullptr;
	t->in_maps = 0;
	t->err = 0;
	t->stale = false;
}

// Whether the thread `tid` of this process is gone.  ESRCH comes once the
// kernel has released the task, after its last user-space instruction.  A
// new thread given the same id keeps the answer "not gone" while it runs:
// the page then waits longer, it is never given back early.
bool thread_gone(pid_t tid) noexcept
{
	return syscall(SYS_tgkill, getpid(), tid, 0) != 0 && errno == ESRCH;
}

// Late blocks of threads that are gone go back to the pool (g_lock held).
void reap_late() noexcept
{
	TLD_ASSERT_LOCKED();
	for (late_block **l = &g_late; *l;) {
		late_block *b = *l;
		if (thread_gone(b->tid)) {
			*l = b->next;
			clear_tag(b->page);
			pool::give(b->page, false);
			delete b;
		} else {
			l = &b->next;
		}
	}
}

void give_late(late_block *b) noexcept
{
	TLD_ASSERT_LOCKED();
	for (late_block **l = &g_late; *l; l = &(*l)->next)
		if (*l == b) {
			*l = b->next;
			break;
		}
	clear_tag(b->page);
	pool::give(b->page, false);
	delete b;
}

void on_thread_exit(void *arg) noexcept
{
	locked g(g_lock);
	if (arg == &t_late) {	// a late block
		if (t_late)
			give_late(t_late);
		t_late = nullptr;
	} else if (auto *t = static_cast<thread_rec *>(arg); t->page) {
		drop_locked(t);
	}
	t_exiting = true;
	clear_tls();
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
			pool::give(t->page, false);
			t->page = nullptr;
			t->stale = false;
		}
	});
	while (late_block *b = g_late) {	// the parent's exiting threads
		g_late = b->next;
		if (b != t_late)
			pool::give(b->page, false);
		delete b;
	}
	t_late = nullptr;
	maps::forget_all_threads();
	if (self->page) {
		self->tid = static_cast<pid_t>(syscall(SYS_gettid));
		self->in_maps = 0;
		self->err = 0;
		self->stale = false;	// the parent's elements point at the parent's pages
		maps::add_thread(self);
	}
	g_lock.unlock();
}

// The pthread key and the fork handlers, with g_lock held; a failure (out
// of pthread keys, out of memory) is returned and tried again next time.
int setup_locked() noexcept
{
	TLD_ASSERT_LOCKED();
	if (!g_key_made) {
		if (int err = pthread_key_create(&g_exit_key, on_thread_exit))
			return -err;
		g_key_made = true;
	}
	if (!g_atfork_set) {
		if (int err = pthread_atfork(before_fork, after_fork_parent, after_fork_child))
			return -err;
		g_atfork_set = true;
	}
	return 0;
}

// A page for the calling thread with its header and owner tag.
tld_data_u *new_page() noexcept
{
	void *page = pool::take();
	if (!page)
		return nullptr;
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
	} else {
		t_tagp = nullptr;
	}
	return d;
}

// A lookup after libtld's destructor ran in this thread: a block that no
// map and no registry knows, given back when the destructor runs again.
int take_late() noexcept
{
	tld_data_u *d = new_page();
	if (!d)
		return -ENOMEM;
	// After the last destructor round nothing runs again for this thread:
	// reap_late() gives the page back once the thread id is gone.
	auto *b = new (std::nothrow) late_block{d, static_cast<pid_t>(syscall(SYS_gettid)), nullptr};
	int err = b ? pthread_setspecific(g_exit_key, &t_late) : ENOMEM;
	if (err) {
		pthread_setspecific(g_exit_key, nullptr);
		clear_tag(d);
		pool::give(d, false);
		delete b;
		t_tagp = nullptr;
		return -err;
	}
	b->next = g_late;
	g_late = b;
	t_late = b;
	set_data(reinterpret_cast<char *>(d));
	return 0;
}

} // namespace

TLD_TLS tld_priv_thread t_thread = {};
TLD_TLS std::uint64_t *t_tagp = nullptr;
TLD_TLS std::uint64_t t_tag = 0;

std::ptrdiff_t thread_offset() noexcept
{
	return reinterpret_cast<char *>(&t_thread) - static_cast<char *>(__builtin_thread_pointer());
}

int take() noexcept
{
	if (t_thread.data)
		return 0;
	if (int err = keys::freeze())
		return err;
	locked g(g_lock);
	if (int err = setup_locked())
		return err;
	if (g_late)
		reap_late();
	if (t_exiting)
		return take_late();
	thread_rec *t = threads::self();
	tld_data_u *d = new_page();
	if (!d)
		return -ENOMEM;
	// Without the destructor the record would outlive the thread.
	if (int err = pthread_setspecific(g_exit_key, t)) {
		clear_tag(d);
		pool::give(d, false);
		t_tagp = nullptr;
		return -err;
	}
	t->tid = static_cast<pid_t>(syscall(SYS_gettid));
	t->page = d;
	t->in_maps = 0;
	t->err = 0;
	threads::link(t);
	int pin_err = maps::follow_pins(false);
	maps::add_thread(t);
	if (!t->err)
		t->err = pin_err;
	set_data(reinterpret_cast<char *>(d));
	return 0;
}

int init_thread() noexcept
{
	if (int err = take())
		return err;
	locked g(g_lock);
	if (t_late)
		return 0;	// exiting: registers nowhere
	int pin_err = maps::follow_pins(true);
	int err = maps::add_thread(threads::self());
	return err ? err : pin_err;
}

void release() noexcept
{
	thread_rec *t = threads::self();
	if (!t_thread.data)
		return;
	clear_tls();
	locked g(g_lock);
	if (t_late) {
		give_late(t_late);
		t_late = nullptr;
	} else if (t->page) {
		drop_locked(t);
	}
	pthread_setspecific(g_exit_key, nullptr);
}

} // namespace tld::blocks
