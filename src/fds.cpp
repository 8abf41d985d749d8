#include "fds.hpp"

#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "threads.hpp"

namespace tld::fds {
namespace {

bool g_want_reserve = false;
int g_reserve = -1;	// an eventfd: it needs no file system

void refill() noexcept
{
	if (g_want_reserve && g_reserve < 0)
		g_reserve = eventfd(0, EFD_CLOEXEC);
}

int open_pidfd(pid_t tid) noexcept
{
	return static_cast<int>(syscall(SYS_pidfd_open, tid, PIDFD_THREAD));
}

} // namespace

void keep_reserve() noexcept
{
	TLD_ASSERT_LOCKED();
	g_want_reserve = true;
	refill();
}

int thread_pidfd(pid_t tid) noexcept
{
	TLD_ASSERT_LOCKED();
	int fd = open_pidfd(tid);
	if (fd >= 0)
		return fd;
	if ((errno != EMFILE && errno != ENFILE) || g_reserve < 0)
		return -errno;
	close_fd(g_reserve);
	g_reserve = -1;
	fd = open_pidfd(tid);
	if (fd < 0) {
		int err = errno;
		refill();
		return -err;
	}
	return fd;
}

void close_pidfd(int fd) noexcept
{
	TLD_ASSERT_LOCKED();
	close_fd(fd);
	refill();
}

void close_fd(int fd) noexcept { syscall(SYS_close, fd); }

} // namespace tld::fds
