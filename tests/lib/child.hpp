// Running a test body in a child process, for what must happen in a fresh
// process or one that forked.
#pragma once

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace tldtest {

// Wait for the child `pid` to end: its exit status, 128 + the signal that
// killed it, or -errno when waitpid() failed.
inline int wait_status(pid_t pid)
{
	int st = 0;
	pid_t r;
	while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR) {
	}
	if (r < 0)
		return -errno;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

// Run `body` in a forked child, whose exit status is what `body` returns:
// what wait_status() says of the child, or -errno when fork() failed.
template <typename F> int in_child(F body)
{
	std::fflush(nullptr);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(body());
	return wait_status(pid);
}

} // namespace tldtest
