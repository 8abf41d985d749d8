#include "fds.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace tld::fds {

int thread_pidfd(pid_t tid) noexcept
{
	int fd = static_cast<int>(syscall(SYS_pidfd_open, tid, PIDFD_THREAD));
	return fd < 0 ? -errno : fd;
}

void close_fd(int fd) noexcept { syscall(SYS_close, fd); }

} // namespace tld::fds
