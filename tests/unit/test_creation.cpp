// Key creation interrupted between reserving a slot and publishing it: by a
// signal handler of the creating thread, by a SCHED_FIFO thread on the
// creator's CPU, by fork().  This executable links libtld's own objects
// instead of libtld.so, so that it can stop a creator at that point with the
// library's internal test seam (src/keys.hpp: g_publish_hook).
//
// Every case runs in a child process with a watchdog (alarm()): a creation
// or a lookup that hangs fails the test in bounded time instead of hanging
// the suite.
#include <catch2/catch_test_macros.hpp>

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "keys.hpp"
#include "../lib/skip.hpp"
#include "unit_common.hpp"

namespace {

using namespace std::chrono_literals;
using tldtest::child_fail;
using tldtest::err_name;

constexpr unsigned watchdog_seconds = 50;

// The child's verdict when a thread of it is stuck: report and leave at
// once, without running any destructor (a std::thread that cannot be
// joined would abort the child).
[[noreturn]] __attribute__((format(printf, 1, 2))) void stuck(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	std::vfprintf(stderr, fmt, ap);
	va_end(ap);
	std::fputc('\n', stderr);
	std::fflush(stderr);
	_exit(1);
}

// The verdict of a process forked from a multithreaded one goes through a
// pipe, not its exit status: sanitizers and memcheck judge such a process's
// exit by bookkeeping that still lists the parent's other threads (and the
// memory only their stacks pointed at), and would fail it for that.
struct verdict {
	int fd[2] = {-1, -1};
	verdict()
	{
		if (pipe(fd))
			stuck("pipe: %s", std::strerror(errno));
	}
	// In the forked process: send the verdict (0: passed) and end.
	[[noreturn]] void leave(int bad)
	{
		const char c = bad ? 'F' : 'P';
		std::fflush(nullptr);
		(void)!write(fd[1], &c, 1);
		syscall(SYS_exit_group, 0);	// not _exit(): no exit-time checks
		__builtin_unreachable();
	}
	// In the parent, once the forked process ended: 0 if it passed.
	int get()
	{
		close(fd[1]);
		char c = 0;
		const ssize_t n = read(fd[0], &c, 1);
		close(fd[0]);
		if (n != 1)
			return child_fail("the forked process ended without a verdict");
		return c == 'P' ? 0 : child_fail("the forked process failed (see above)");
	}
};

void nap() { std::this_thread::sleep_for(1ms); }

// Wait until `flag` is true, at most `limit`.  Sleeps between looks, so that
// signals are delivered and a waiter of normal priority leaves the CPU.
bool wait_for(const std::atomic<bool> &flag, std::chrono::milliseconds limit)
{
	const auto end = std::chrono::steady_clock::now() + limit;
	while (!flag.load()) {
		if (std::chrono::steady_clock::now() >= end)
			return false;
		nap();
	}
	return true;
}

// The exit status of a child that cannot make a thread SCHED_FIFO.
constexpr int no_realtime = 77;

// Run `body` in a child process under the watchdog; the Catch2 verdict.
// Without the privilege to make a thread SCHED_FIFO (CAP_SYS_NICE), the test
// is skipped (exit 77), unless CI is set in the environment: there it fails.
template <typename F> void run_child(F body)
{
	const int st = tldtest::in_child([&] {
		alarm(watchdog_seconds);
		return body();
	});
	if (st == no_realtime)
		tldtest::skip_or_fail("cannot make a thread SCHED_FIFO here");
	INFO("child exit status " << st << " (1: a check failed, see stderr; 142: the "
	     << watchdog_seconds << " s watchdog killed it, something hung)");
	REQUIRE(st == 0);
}

pid_t gettid_() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// The first CPU this process may run on.
int first_cpu()
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set))
		return -errno;
	for (int c = 0; c < CPU_SETSIZE; ++c)
		if (CPU_ISSET(c, &set))
			return c;
	return -ENOENT;
}

// Pin the calling thread to `cpu`: 0 or -errno.
int pin_to(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

// Make the calling thread SCHED_FIFO at the lowest real-time priority (any
// real-time priority runs before every SCHED_OTHER thread): 0 or -errno.
int become_fifo()
{
	sched_param p{};
	p.sched_priority = sched_get_priority_min(SCHED_FIFO);
	return -pthread_setschedparam(pthread_self(), SCHED_FIFO, &p);
}

// Whether this process may make threads SCHED_FIFO: tried on a thread of
// its own, which ends at once.
bool can_be_fifo()
{
	int err = 0;
	std::thread([&] { err = become_fifo(); }).join();
	return err != -EPERM;
}

// The kernel's effective priority of thread `tid` (field 18 of its stat
// line): nice + 20 for SCHED_OTHER, negative for a real-time priority,
// including one lent through priority inheritance.  -1000 if unreadable.
int effective_priority(pid_t tid)
{
	std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/stat");
	std::string line;
	if (!std::getline(f, line))
		return -1000;
	const auto close = line.rfind(')');
	if (close == std::string::npos)
		return -1000;
	std::istringstream rest(line.substr(close + 2));
	std::string field;
	for (int i = 3; i <= 18; ++i)	// fields 3 (state) to 18 (priority)
		if (!(rest >> field))
			return -1000;
	return std::atoi(field.c_str());
}

// The checks of a child: each one that fails is said on stderr and makes
// `bad` 1, the child's exit status.
struct checks {
	int bad = 0;
	void operator()(const char *what, int got, int want)
	{
		if (got != want)
			bad = child_fail("%s: got %d (%s), expected %d (%s)", what, got,
					 err_name(got).c_str(), want, err_name(want).c_str());
	}
};

// Start `create` on a thread of its own and wait until the publish hook
// holds it between reserving and publishing (the hook sets `in_hook`).
template <typename F> std::thread stopped_creator(const std::atomic<bool> &in_hook, F create)
{
	std::thread t(std::move(create));
	if (!wait_for(in_hook, 10s))
		stuck("the creator never reached the point between reserving and publishing");
	return t;
}

// A SCHED_FIFO thread beside a stopped SCHED_OTHER creator: the hook sets
// in_hook; the SCHED_FIFO thread sets `started` once it tried to get its
// CPU and policy (sched_err) and `done` once its libtld call returned.
struct fifo_case {
	std::atomic<bool> in_hook{false}, started{false}, done{false};
	int sched_err = 0;
};

// Both threads on the first CPU of the process: `create` on a SCHED_OTHER
// thread until the publish hook holds it between reserving and publishing,
// then `call` (the libtld call `what`) on a thread made SCHED_FIFO.  The
// pinning and the policy are checked into `expect`; no_realtime where
// threads cannot be made SCHED_FIFO, 1 without a CPU, else 0.
template <typename Create, typename Call>
int fifo_beside_creator(fifo_case &f, checks &expect, const char *what, Create create, Call call)
{
	if (!can_be_fifo())
		return no_realtime;
	const int cpu = first_cpu();
	if (cpu < 0)
		return child_fail("sched_getaffinity: %s", err_name(cpu).c_str());
	int pin_err = 0;
	std::thread creator = stopped_creator(f.in_hook, [&] {
		pin_err = pin_to(cpu);
		create();
	});
	std::thread rt([&] {
		const int e = pin_to(cpu);
		f.sched_err = e ? e : become_fifo();
		f.started.store(true);
		call();
		f.done.store(true);
	});
	if (!wait_for(f.done, 30s))
		stuck("a SCHED_FIFO thread's %s did not return within 30 s while a "
		      "SCHED_OTHER creator on its CPU was between reserving and publishing", what);
	rt.join();
	creator.join();
	expect("pinning the creator", pin_err, 0);
	expect("pinning the SCHED_FIFO thread and setting its policy", f.sched_err, 0);
	return 0;
}

// ---------------------------------------------------------------------------
// A signal handler of the creating thread.

// A case where SIGUSR1 interrupts the creation of the key `victim`: the
// publish hook holds it between reserving and publishing (and sets in_hook)
// until `handler` ran (and set `handled`).
struct signal_case {
	const char *victim;
	void (*handler)(int);
	std::atomic<bool> in_hook{false}, handled{false};
};
signal_case *held = nullptr;

void hold_until_handled(const char *name) noexcept
{
	if (std::strcmp(name, held->victim) != 0)
		return;
	held->in_hook.store(true);
	wait_for(held->handled, 10s);	// stay between reserving and publishing
}

// Start `create`, the creation of c.victim, on a thread of its own, and
// signal that thread once the hook holds it; the thread, once the handler
// returned (what `handler_did` says did not return within 5 s otherwise).
template <typename F>
std::thread signalled_creator(signal_case &c, F create, const char *handler_did)
{
	struct sigaction sa = {};
	sa.sa_handler = c.handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, nullptr))
		stuck("sigaction: %s", std::strerror(errno));
	held = &c;
	tld::keys::g_publish_hook = hold_until_handled;
	std::thread creator = stopped_creator(c.in_hook, std::move(create));
	std::fflush(nullptr);
	pthread_kill(creator.native_handle(), SIGUSR1);
	if (!wait_for(c.handled, 5s))
		stuck("%s did not return within 5 s", handler_did);
	return creator;
}

namespace sig {
void handler(int);
signal_case flags{"sig.victim", handler};
int existing = 1, victim = 1, missing = 1, created = 1, created_errno = 0;

void handler(int)
{
	const int saved = errno;
	existing = tld_find_key("sig.existing", 8).off;
	victim = tld_find_key("sig.victim", 8).off;
	missing = tld_find_key("sig.missing", 8).off;
	errno = 0;
	created = tld_create_key("sig.other", 8).off;
	created_errno = errno;
	flags.handled.store(true);
	errno = saved;
}
} // namespace sig

int signal_child()
{
	const tld_key_t existing = tld_create_key("sig.existing", 8);
	if (existing.off != 0)
		return child_fail("first key: %d", existing.off);
	int victim = 1;
	std::thread creator = signalled_creator(
		sig::flags, [&] { victim = tld_create_key("sig.victim", 8).off; },
		"a signal handler calling tld_find_key() and tld_create_key() while its own "
		"thread is between reserving and publishing a key");
	creator.join();
	checks expect;
	expect("handler: tld_find_key of a published key", sig::existing, 0);
	expect("handler: tld_find_key of the key being created", sig::victim, -ENOENT);
	expect("handler: tld_find_key of a name nobody created", sig::missing, -ENOENT);
	expect("handler: tld_create_key while its thread creates", sig::created, -EDEADLK);
	expect("handler: errno after tld_create_key", sig::created_errno, EDEADLK);
	expect("the interrupted creation", victim, 8);
	expect("tld_find_key of the interrupted key afterwards", tld_find_key("sig.victim", 8).off, 8);
	// The refused call took nothing: the name is free and the next slot too.
	expect("tld_create_key of the name the handler tried", tld_create_key("sig.other", 8).off, 16);
	return expect.bad;
}

// ---------------------------------------------------------------------------
// A SCHED_FIFO thread on the CPU of a SCHED_OTHER creator.

namespace fifo {
fifo_case flags;
std::atomic<bool> hook_waited_out{false};
int existing = 1, victim = 1, missing = 1;

void hook(const char *name) noexcept
{
	if (std::strcmp(name, "fifo.victim") != 0)
		return;
	flags.in_hook.store(true);
	// Publish only after the real-time thread's lookups returned: they
	// must not wait for this creator, which cannot run while they spin.
	// (Starting that thread may take long on a loaded machine; its lookups
	// take microseconds once it runs.)
	if (!wait_for(flags.started, 20s) || !wait_for(flags.done, 5s))
		hook_waited_out.store(true);
}
} // namespace fifo

int fifo_lookup_child()
{
	if (tld_create_key("fifo.existing", 8).off != 0)
		return child_fail("first key");
	tld::keys::g_publish_hook = fifo::hook;
	checks expect;
	int victim = 1;
	const int st = fifo_beside_creator(
		fifo::flags, expect, "tld_find_key()",
		[&] { victim = tld_create_key("fifo.victim", 8).off; },
		[] {
			fifo::existing = tld_find_key("fifo.existing", 8).off;
			fifo::victim = tld_find_key("fifo.victim", 8).off;
			fifo::missing = tld_find_key("fifo.missing", 8).off;
		});
	if (st)
		return st;
	expect("SCHED_FIFO tld_find_key of a published key", fifo::existing, 0);
	expect("SCHED_FIFO tld_find_key of the key being created", fifo::victim, -ENOENT);
	expect("SCHED_FIFO tld_find_key of a name nobody created", fifo::missing, -ENOENT);
	if (fifo::hook_waited_out.load())
		expect.bad = child_fail("the creator waited 5 s in vain between reserving and "
					"publishing: the SCHED_FIFO thread's lookups waited for it");
	expect("the creation", victim, 8);
	return expect.bad;
}

namespace pi {
fifo_case flags;
std::atomic<bool> boosted{false};
int second = 1, lowest = 1000;

void hook(const char *name) noexcept
{
	if (std::strcmp(name, "pi.first") != 0)
		return;
	flags.in_hook.store(true);
	// Hold on until the SCHED_FIFO creator, once it called
	// tld_create_key(), lends this thread its priority (or 10 s pass).
	if (!wait_for(flags.started, 20s))
		return;
	const auto end = std::chrono::steady_clock::now() + 10s;
	while (std::chrono::steady_clock::now() < end) {
		const int p = effective_priority(gettid_());
		if (p < lowest)
			lowest = p;
		if (p < 0) {
			boosted.store(true);
			return;
		}
		nap();
	}
}
} // namespace pi

int fifo_create_child()
{
	tld::keys::g_publish_hook = pi::hook;
	checks expect;
	int first = 1, normal_prio = 1000;
	const int st = fifo_beside_creator(
		pi::flags, expect, "tld_create_key()",
		[&] {
			normal_prio = effective_priority(gettid_());
			first = tld_create_key("pi.first", 8).off;
		},
		[] { pi::second = tld_create_key("pi.second", 8).off; });
	if (st)
		return st;
	if (!pi::boosted.load())
		expect.bad = child_fail("the SCHED_OTHER creator (priority %d) was never boosted while "
					"the SCHED_FIFO creator waited for it (lowest priority seen %d; "
					"the SCHED_FIFO thread %s): no priority inheritance",
					normal_prio, pi::lowest,
					pi::flags.started.load() ? "was creating" : "never started creating");
	expect("the SCHED_OTHER creation", first, 0);
	expect("the SCHED_FIFO creation", pi::second, 8);
	expect("tld_find_key of the first", tld_find_key("pi.first", 8).off, 0);
	expect("tld_find_key of the second", tld_find_key("pi.second", 8).off, 8);
	return expect.bad;
}

// ---------------------------------------------------------------------------
// fork() while a key is being created.

namespace forking {
std::atomic<bool> in_hook{false}, fork_started{false};

void hook(const char *name) noexcept
{
	if (std::strcmp(name, "fork.victim") != 0)
		return;
	in_hook.store(true);
	// Let the other thread enter fork() first, so that its fork handler
	// finds this creation in flight.
	wait_for(fork_started, 10s);
	std::this_thread::sleep_for(100ms);
}
} // namespace forking

int fork_other_thread_child()
{
	if (tld_create_key("fork.existing", 8).off != 0)
		return child_fail("first key");
	tld::keys::g_publish_hook = forking::hook;
	int victim = 1;
	std::thread creator =
		stopped_creator(forking::in_hook, [&] { victim = tld_create_key("fork.victim", 8).off; });
	forking::fork_started.store(true);
	verdict v;
	std::fflush(nullptr);
	const pid_t pid = fork();
	if (pid < 0)
		stuck("fork: %s", std::strerror(errno));
	if (pid == 0) {
		// The creation that was in flight is complete in the child, and
		// the child creates keys of its own.
		int bad = 0;
		const int found = tld_find_key("fork.victim", 8).off;
		if (found != 8)
			bad = child_fail("forked child: tld_find_key of the key in flight = %d (%s)",
					 found, err_name(found).c_str());
		const int mine = tld_create_key("fork.child", 8).off;
		if (mine != 16)
			bad = child_fail("forked child: tld_create_key = %d (%s)", mine,
					 err_name(mine).c_str());
		v.leave(bad);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
	}
	creator.join();
	int bad = v.get();
	if (victim != 8)
		bad = child_fail("the creation in flight during fork() got %d", victim);
	if (tld_create_key("fork.parent", 8).off != 16)
		bad = child_fail("the parent cannot create keys after the fork");
	return bad;
}

namespace forkh {
void handler(int);
signal_case flags{"forkh.victim", handler};
verdict *result = nullptr;
pid_t parent = 0, child = 0;
int fork_errno = 0, in_child_find = 1, in_child_create = 1;

// Runs on the creating thread, inside its creation: fork() from there.
void handler(int)
{
	const int saved = errno;
	const pid_t pid = fork();
	if (pid == 0) {
		in_child_find = tld_find_key("forkh.existing", 8).off;
		in_child_create = tld_create_key("forkh.in.handler", 8).off;
	} else {
		child = pid;
		fork_errno = pid < 0 ? errno : 0;
	}
	flags.handled.store(true);
	errno = saved;
}

// The creating thread, in the parent and (it is the thread that forked)
// in the child.
int create_and_check()
{
	const int victim = tld_create_key("forkh.victim", 8).off;
	if (getpid() == parent)
		return victim;
	// The child: its only thread finished the creation it was in.
	int bad = 0;
	if (in_child_find != 0)
		bad = child_fail("child, in the handler: tld_find_key = %d (%s)", in_child_find,
				 err_name(in_child_find).c_str());
	if (in_child_create != -EDEADLK)
		bad = child_fail("child, in the handler: tld_create_key = %d (%s), expected "
				 "-EDEADLK: the thread is creating a key",
				 in_child_create, err_name(in_child_create).c_str());
	if (victim != 8)
		bad = child_fail("child: the interrupted creation = %d (%s)", victim,
				 err_name(victim).c_str());
	const int after = tld_create_key("forkh.child.after", 8).off;
	if (after != 16)
		bad = child_fail("child: a creation after the interrupted one = %d (%s)", after,
				 err_name(after).c_str());
	result->leave(bad);
}
} // namespace forkh

int fork_in_handler_child()
{
	if (tld_create_key("forkh.existing", 8).off != 0)
		return child_fail("first key");
	forkh::parent = getpid();
	verdict v;
	forkh::result = &v;
	int victim = 1;
	std::thread creator = signalled_creator(
		forkh::flags, [&] { victim = forkh::create_and_check(); },
		"fork() from a signal handler of a thread between reserving and publishing a key");
	creator.join();
	int bad = 0;
	if (forkh::child <= 0)
		return child_fail("fork in the handler failed: %s", std::strerror(forkh::fork_errno));
	int st = 0;
	for (int i = 0; i < 10000; ++i) {
		const pid_t w = waitpid(forkh::child, &st, WNOHANG);
		if (w == forkh::child)
			break;
		if (i == 9999) {
			kill(forkh::child, SIGKILL);
			waitpid(forkh::child, &st, 0);
			bad = child_fail("the child forked in the handler did not finish in 10 s");
		}
		nap();
	}
	if (v.get())
		bad = child_fail("the child forked in the handler failed (wait status %#x)", st);
	if (victim != 8)
		bad = child_fail("parent: the interrupted creation = %d", victim);
	if (tld_create_key("forkh.parent.after", 8).off != 16)
		bad = child_fail("parent: a creation after the interrupted one failed");
	return bad;
}

} // namespace

TEST_CASE("a signal handler of a thread between reserving and publishing a key gets answers from tld_find_key and EDEADLK from tld_create_key")
{
	run_child(signal_child);
}

TEST_CASE("a SCHED_FIFO thread's tld_find_key returns while a SCHED_OTHER creator on its CPU is between reserving and publishing")
{
	run_child(fifo_lookup_child);
}

TEST_CASE("a SCHED_FIFO thread's tld_create_key lends its priority to a SCHED_OTHER creator on its CPU and both keys are created")
{
	run_child(fifo_create_child);
}

TEST_CASE("fork while another thread is between reserving and publishing a key gives a child with the key complete")
{
	run_child(fork_other_thread_child);
}

TEST_CASE("fork from a signal handler of a thread between reserving and publishing a key returns and both processes go on creating keys")
{
	run_child(fork_in_handler_child);
}
