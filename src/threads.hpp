// The registry of threads that hold a block, and the library's one lock.
//
// The locking rule (docs/ARCHITECTURE.md): g_lock protects the registry,
// the page pool and the map table; every slow path takes it once, at the C
// boundary or in a handler (thread exit, fork), and nothing is called with
// it held that could call back into the library.  The fast paths
// (tld_data(), tld_get_data() of a registered thread) never take it.
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <cassert>
#include <cstdint>
#include <mutex>

#include "layout.hpp"

namespace tld {

#define TLD_TLS __thread __attribute__((tls_model("initial-exec")))

// A mutex whose lock() cannot fail or throw.  held() is for assertions.
class library_lock {
public:
	void lock() noexcept;
	void unlock() noexcept;
	bool held() const noexcept;

private:
	pthread_mutex_t m_ = PTHREAD_MUTEX_INITIALIZER;
};

extern library_lock g_lock;
using locked = std::lock_guard<library_lock>;

// In functions that need g_lock held by their caller.
#define TLD_ASSERT_LOCKED() assert(::tld::g_lock.held())

// What the library knows of a thread that holds a block.  Lives in the
// thread's own TLS.
struct thread_rec {
	pid_t tid = 0;
	tld_data_u *page = nullptr;
	std::uint32_t in_maps = 0;	// bit i: element present in map slot i
	int err = 0;			// last registration error, 0 if none
	// An element of this thread could not be deleted from some map: it may
	// still point at the thread's page, which must then never be reused.
	bool stale = false;
	// The descriptors whose maps the thread is known to be in, which
	// tld_get_data() trusts without a system call: bits of fd_bits (the
	// thread's tld_priv_thread.fds, which the inline code reads) for
	// numbers below TLD_PRIV_FD_BITS, far_fds for the others (-1: unused).
	// Written with g_lock held, by the thread or by one that takes it out
	// of a map; read by the thread without the lock.
	std::uint64_t *fd_bits = nullptr;
	int far_fds[TLD_MAPS_MAX] = {-1, -1, -1, -1, -1, -1, -1, -1};
	unsigned far_next = 0;
	thread_rec *prev = nullptr;
	thread_rec *next = nullptr;
};

namespace threads {

// The calling thread's record (its `page` is null when it has no block).
thread_rec *self() noexcept;

// With g_lock held: the first record of the registry, and linking and
// unlinking records.
thread_rec *head() noexcept;
void link(thread_rec *t) noexcept;
void unlink(thread_rec *t) noexcept;

// tld_get_data()'s memory of descriptors.  knows() without the lock, for
// the calling thread's record; remember() and forget() with g_lock held
// (forget(t, -1) forgets every descriptor).
bool knows(const thread_rec *t, int fd) noexcept;
void remember(thread_rec *t, int fd) noexcept;
void forget(thread_rec *t, int fd) noexcept;

// Call f(t) for every record, with g_lock held; f may unlink t.
template <typename F> void for_each(F f) noexcept
{
	TLD_ASSERT_LOCKED();
	for (thread_rec *t = head(), *next; t; t = next) {
		next = t->next;
		f(t);
	}
}

} // namespace threads
} // namespace tld
