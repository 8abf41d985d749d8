// Running a test body in a child process, for what must happen in a fresh
// process or one that forked.
#pragma once

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace tldtest {

// Run `body` in a forked child, whose exit status is what `body` returns;
// that status, 128 + the signal that killed the child, or -errno when
// fork() failed.
template <typename F> int in_child(F body)
{
	std::fflush(nullptr);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(body());
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

} // namespace tldtest
