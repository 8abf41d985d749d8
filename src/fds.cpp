#include "fds.hpp"

#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "pidfd.hpp"
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
	int fd = open_thread_pidfd(tid);
	if (fd >= 0 || (fd != -EMFILE && fd != -ENFILE) || g_reserve < 0)
		return fd;
	close_fd(g_reserve);
	g_reserve = -1;
	fd = open_thread_pidfd(tid);
	if (fd < 0)
		refill();
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
