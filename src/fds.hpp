// Descriptors the library opens for a moment: pidfds of threads, closed
// without a cancellation point.
#pragma once

#include <fcntl.h>
#include <sys/types.h>

// <linux/pidfd.h> of Linux 6.9; older kernel headers lack it.
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

namespace tld::fds {

// A pidfd of thread `tid` (PIDFD_THREAD), or -errno.
int thread_pidfd(pid_t tid) noexcept;

// close() without being a cancellation point: the library's slow paths
// must finish whatever pthread_cancel() is pending.
void close_fd(int fd) noexcept;

} // namespace tld::fds
