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

} // namespace threads
} // namespace tld
