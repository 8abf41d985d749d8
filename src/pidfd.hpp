// A pidfd of one thread: the library, its tools, tests and benchmark open
// them all here, so that the flag and its fallback are written once.
#pragma once

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>

// <linux/pidfd.h> of Linux 6.9; older kernel headers lack it.
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

namespace tld {

// pidfd_open(tid, PIDFD_THREAD): the descriptor, or -errno.  Not a
// cancellation point.
inline int open_thread_pidfd(pid_t tid) noexcept
{
	const long fd = syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	return fd < 0 ? -errno : static_cast<int>(fd);
}

} // namespace tld
