// Descriptors the library opens for a moment, pidfds of threads above all,
// and the descriptor it holds in reserve for them.
#pragma once

#include <sys/types.h>

namespace tld::fds {

// With g_lock held: keep one descriptor in reserve from now on (once the
// process registers a map), so that deleting a thread's elements still
// works when the process has no descriptor left.
void keep_reserve() noexcept;

// With g_lock held: a pidfd of thread `tid` (PIDFD_THREAD), or -errno.
// When the process is out of descriptors, the reserve is spent on it and
// taken back when the pidfd is closed with close_pidfd().
int thread_pidfd(pid_t tid) noexcept;
void close_pidfd(int fd) noexcept;

// close() without being a cancellation point: the library's slow paths
// must finish whatever pthread_cancel() is pending.
void close_fd(int fd) noexcept;

} // namespace tld::fds
