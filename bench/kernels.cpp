// The timed kernels (kernels.hpp).
#include "kernels.hpp"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "common.hpp"
#include "pidfd.hpp"

namespace bench {

// ---- the store loops ---------------------------------------------------------

namespace {

#define COMPILER_BARRIER() asm volatile("" ::: "memory")

__thread std::uint64_t *t_ptr;

// The upstream header's user-side fast path, written from its description:
// a thread-local pointer to the thread's block, checked for NULL, plus the
// key's offset into the data that follows the block's 8-byte header.
struct upstream_block {
	std::uint64_t start;
	char data[4096 - 8];
};
__thread upstream_block *t_upstream;
upstream_block g_upstream_block;

char *g_floor_pages;
__u64 g_floor_meta;
std::atomic<unsigned> g_floor_next{0};

std::size_t floor_page_size() { return static_cast<std::size_t>(sysconf(_SC_PAGESIZE)); }

double cpu_ns()
{
	timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

} // namespace

void set_store_target(std::uint64_t *p) { t_ptr = p; }
void set_upstream_block() { t_upstream = &g_upstream_block; }

__attribute__((noinline)) double loop_store(long n)
{
	const double t0 = now_ns();
	for (long i = 0; i < n; ++i) {
		*t_ptr = static_cast<std::uint64_t>(i);
		COMPILER_BARRIER();
	}
	return (now_ns() - t0) / static_cast<double>(n);
}

__attribute__((noinline)) double loop_tld_data(long n)
{
	const double t0 = now_ns();
	for (long i = 0; i < n; ++i) {
		auto *p = static_cast<std::uint64_t *>(tld_data(g_key));
		if (p)
			*p = static_cast<std::uint64_t>(i);
		COMPILER_BARRIER();
	}
	return (now_ns() - t0) / static_cast<double>(n);
}

// The exported symbol, called through a pointer: what a binary built before
// an inline tld_data() (or a language without the header) pays.

__attribute__((noinline)) double loop_tld_data_symbol(data_fn fn, long n)
{
	const double t0 = now_ns();
	for (long i = 0; i < n; ++i) {
		auto *p = static_cast<std::uint64_t *>(fn(g_key));
		if (p)
			*p = static_cast<std::uint64_t>(i);
		COMPILER_BARRIER();
	}
	return (now_ns() - t0) / static_cast<double>(n);
}

// One map (mask 0) or several, alternating: iteration i uses fds[i & mask].
__attribute__((noinline)) double loop_tld_get_data(const int *fds, unsigned mask, long n)
{
	const double t0 = now_ns();
	for (long i = 0; i < n; ++i) {
		auto *p = static_cast<std::uint64_t *>(
			tld_get_data(fds[static_cast<unsigned long>(i) & mask], g_key));
		if (p)
			*p = static_cast<std::uint64_t>(i);
		COMPILER_BARRIER();
	}
	return (now_ns() - t0) / static_cast<double>(n);
}

__attribute__((noinline)) double loop_upstream(long n)
{
	const double t0 = now_ns();
	for (long i = 0; i < n; ++i) {
		upstream_block *b = t_upstream;
		if (b) {
			auto *p = reinterpret_cast<std::uint64_t *>(b->data + g_key.off);
			*p = static_cast<std::uint64_t>(i);
		}
		COMPILER_BARRIER();
	}
	return (now_ns() - t0) / static_cast<double>(n);
}

__attribute__((noinline)) double loop_cached(std::uint64_t *p, long n)
{
	const double t0 = now_ns();
	for (long i = 0; i < n; ++i) {
		*p = static_cast<std::uint64_t>(i);
		COMPILER_BARRIER();
	}
	return (now_ns() - t0) / static_cast<double>(n);
}

__attribute__((noinline)) double loop_map_update(int fd, long n)
{
	const __u32 tid = static_cast<__u32>(syscall(SYS_gettid));
	const double t0 = now_ns();
	for (long i = 0; i < n; ++i) {
		__u64 v = static_cast<__u64>(i);
		if (bpf_map_update_elem(fd, &tid, &v, BPF_ANY))
			die("bpf_map_update_elem: %s", std::strerror(errno));
	}
	return (now_ns() - t0) / static_cast<double>(n);
}

// ---- threads -----------------------------------------------------------------

namespace {

// A thread body's result: null, or the errno of what failed.
void *failed(int err)
{
	return reinterpret_cast<void *>(static_cast<std::intptr_t>(err));
}

} // namespace

void *thread_plain(void *) { return nullptr; }

void *thread_tld(void *)
{
	auto *p = static_cast<std::uint64_t *>(tld_data(g_key));
	if (!p)
		return failed(errno);
	*p = 1;
	return nullptr;
}

// The kernel's share of a thread's registration, without libtld: the system
// calls that any library publishing a page per thread through a task storage
// map must make.  Each floor thread takes the next of a few pages of its own.
void setup_floor_pages()
{
	void *pages = mmap(nullptr, (floor_pages + 1) * floor_page_size(), PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED)
		die("mmap: %s", std::strerror(errno));
	g_floor_pages = static_cast<char *>(pages) + floor_page_size();
	g_floor_meta = reinterpret_cast<__u64>(pages);	// an empty metadata page
}

// A version 1 map value for floor page `i` (start = 8 in the page).
void floor_value(unsigned i, __u64 (&value)[2])
{
	char *page = g_floor_pages + (i % floor_pages) * floor_page_size();
	*reinterpret_cast<__u64 *>(page) = 8;
	value[0] = reinterpret_cast<__u64>(page);
	value[1] = g_floor_meta;
}

// gettid, pidfd_open, the map update, close.
void *thread_floor_register(void *)
{
	const pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
	__u64 value[2];
	floor_value(g_floor_next++, value);
	int pidfd = tld::open_thread_pidfd(tid);
	if (pidfd < 0)
		return failed(-pidfd);
	const int err = bpf_map_update_elem(g_map_fd, &pidfd, value, BPF_ANY);
	syscall(SYS_close, pidfd);
	return err ? failed(-err) : nullptr;
}

// The same and, before the thread ends, pidfd_open, the delete, close.
void *thread_floor_full(void *arg)
{
	if (void *ret = thread_floor_register(arg))
		return ret;
	int pidfd = tld::open_thread_pidfd(static_cast<pid_t>(syscall(SYS_gettid)));
	if (pidfd < 0)
		return failed(-pidfd);
	const int err = bpf_map_delete_elem(g_map_fd, &pidfd);
	syscall(SYS_close, pidfd);
	return err ? failed(-err) : nullptr;
}

// Thread create + join, `n` times; adds wall and process CPU time to `c`.
void loop_threads(void *(*fn)(void *), int n, thread_cost &c)
{
	const double w0 = now_ns(), c0 = cpu_ns();
	for (int i = 0; i < n; ++i) {
		pthread_t t;
		void *ret;
		if (int e = pthread_create(&t, nullptr, fn, nullptr))
			die("pthread_create: %s", std::strerror(e));
		pthread_join(t, &ret);
		if (ret)
			die("the work of a new thread failed (tld_data(), or a floor thread's "
			    "pidfd_open() or map update or delete): %s",
			    std::strerror(static_cast<int>(reinterpret_cast<std::intptr_t>(ret))));
	}
	c.wall_ns += now_ns() - w0;
	c.cpu_ns += cpu_ns() - c0;
	c.n += n;
}

} // namespace bench
