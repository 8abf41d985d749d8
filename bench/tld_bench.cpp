// tld-bench: every figure of bench/run.sh, measured in one run and printed as
// a Markdown table (median of repetitions, min-max spread), optionally also
// as JSON.  Figures are printed, never asserted.
//
// Figures that need a fresh process (key creation: keys are per process and
// at most 63; RSS: an untouched heap and stack cache; BPF: 63 keys of one
// naming scheme) run in children: this program re-executes itself with
// `--child KIND ...`, and the child prints "name value" lines.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <tld/tld.h>

#include "tld_bench.h"
#include "bench_sites.skel.h"
#include "tld_bench.skel.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL	// <linux/pidfd.h>, Linux 6.9
#endif

namespace {

constexpr int reps = 7;			// repetitions of every in-process figure
constexpr int child_reps = 5;		// repetitions that need a process each
// BPF figures: samples from each of bpf_loads processes.  Every process loads
// the programs afresh, so the JIT places them at other addresses: one load's
// lucky or unlucky code alignment does not decide a figure.
constexpr int bpf_loads = 5;
constexpr int bpf_reps = 3;
constexpr long store_iters = 20'000'000;
constexpr long map_iters = 100'000;
constexpr int thread_iters = 1'000;
constexpr int rss_threads = 10'000;
constexpr std::size_t rss_stack = 64 * 1024;
constexpr double bpf_target_ns = 15e6;	// aim of one BPF timing run

#define COMPILER_BARRIER() asm volatile("" ::: "memory")

using samples = std::map<std::string, std::vector<double>>;

double now_ns()
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

[[noreturn]] void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	std::fputs("tld-bench: ", stderr);
	std::vfprintf(stderr, fmt, ap);
	std::fputc('\n', stderr);
	va_end(ap);
	std::exit(1);
}

// ---- the store loops ---------------------------------------------------------

__thread std::uint64_t *t_ptr;

// The key, read from memory on every iteration (the barrier forces it), as
// a key defined with TLD_DEFINE_KEY() would be.
tld_key_t g_key;

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
using data_fn = void *(*)(tld_key_t);

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

__attribute__((noinline)) double loop_tld_get_data(int fd, long n)
{
	const double t0 = now_ns();
	for (long i = 0; i < n; ++i) {
		auto *p = static_cast<std::uint64_t *>(tld_get_data(fd, g_key));
		if (p)
			*p = static_cast<std::uint64_t>(i);
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

void *thread_plain(void *) { return nullptr; }

void *thread_tld(void *)
{
	auto *p = static_cast<std::uint64_t *>(tld_data(g_key));
	if (!p)
		return reinterpret_cast<void *>(1);
	*p = 1;
	return nullptr;
}

// The kernel's share of a thread's registration, without libtld: the system
// calls that any library publishing a page per thread through a task storage
// map must make.  Each floor thread takes the next of a few pages of its own.
int g_map_fd = -1;	// the bench object's tld_data_map, once loaded
char *g_floor_pages;
__u64 g_floor_meta;
std::atomic<unsigned> g_floor_next{0};
constexpr unsigned floor_pages = 64;

int floor_pidfd(pid_t tid)
{
	return static_cast<int>(syscall(SYS_pidfd_open, tid, PIDFD_THREAD));
}

std::size_t floor_page_size() { return static_cast<std::size_t>(sysconf(_SC_PAGESIZE)); }

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
	int pidfd = floor_pidfd(tid);
	if (pidfd < 0)
		return reinterpret_cast<void *>(1);
	const int err = bpf_map_update_elem(g_map_fd, &pidfd, value, BPF_ANY);
	syscall(SYS_close, pidfd);
	return reinterpret_cast<void *>(err ? 1 : 0);
}

// The same and, before the thread ends, pidfd_open, the delete, close.
void *thread_floor_full(void *arg)
{
	if (thread_floor_register(arg))
		return reinterpret_cast<void *>(1);
	int pidfd = floor_pidfd(static_cast<pid_t>(syscall(SYS_gettid)));
	if (pidfd < 0)
		return reinterpret_cast<void *>(1);
	const int err = bpf_map_delete_elem(g_map_fd, &pidfd);
	syscall(SYS_close, pidfd);
	return reinterpret_cast<void *>(err ? 1 : 0);
}

double cpu_ns()
{
	timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

struct thread_cost {
	double wall_ns = 0, cpu_ns = 0;
	int n = 0;
};

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
			die("tld_data() failed in a new thread");
	}
	c.wall_ns += now_ns() - w0;
	c.cpu_ns += cpu_ns() - c0;
	c.n += n;
}

// ---- process setup shared by the children and the in-process figures --------

// Loads the bench object (for its tld_data_map) and registers the map.
tld_bench *load_and_register()
{
	libbpf_set_print(nullptr);
	tld_bench *skel = tld_bench__open_and_load();
	if (!skel)
		die("loading the BPF object: %s (run as root)", std::strerror(errno));
	if (int err = tld_map_register(bpf_map__fd(skel->maps.tld_data_map)))
		die("tld_map_register: %s", std::strerror(-err));
	return skel;
}

long statm_resident_bytes()
{
	FILE *f = std::fopen("/proc/self/statm", "r");
	long size = 0, resident = 0;
	if (!f || std::fscanf(f, "%ld %ld", &size, &resident) != 2)
		die("reading /proc/self/statm");
	std::fclose(f);
	return resident * sysconf(_SC_PAGESIZE);
}

// ---- children ----------------------------------------------------------------

// key creation: 63 keys from one thread, or from `nthreads` racing threads.
int child_keys(int nthreads)
{
	char names[TLD_BENCH_KEYS][32];
	for (unsigned i = 0; i < TLD_BENCH_KEYS; ++i)
		std::snprintf(names[i], sizeof(names[i]), TLD_BENCH_NAME_FMT, i);
	if (nthreads <= 1) {
		const double t0 = now_ns();
		for (unsigned i = 0; i < TLD_BENCH_KEYS; ++i)
			if (tld_key_is_err(tld_create_key(names[i], 8)))
				die("tld_create_key(%s): %s", names[i], std::strerror(errno));
		std::printf("key_create_us %.3f\n", (now_ns() - t0) / 1e3);
		return 0;
	}
	struct racer {
		int idx, n;
		char (*names)[32];
		std::atomic<int> *go;
		double start, end;
		int failed;
	};
	std::atomic<int> go{0};
	std::vector<racer> r(static_cast<std::size_t>(nthreads));
	std::vector<pthread_t> t(r.size());
	for (int i = 0; i < nthreads; ++i) {
		r[i] = {i, nthreads, names, &go, 0, 0, 0};
		pthread_create(&t[i], nullptr, [](void *a) -> void * {
			auto *x = static_cast<racer *>(a);
			x->go->wait(0);
			x->start = now_ns();
			for (int k = x->idx; k < TLD_BENCH_KEYS; k += x->n)
				if (tld_key_is_err(tld_create_key(x->names[k], 8)))
					x->failed++;
			x->end = now_ns();
			return nullptr;
		}, &r[i]);
	}
	usleep(20000);	// let every racer reach the gate
	go.store(1);
	go.notify_all();
	double start = 1e300, end = 0;
	for (int i = 0; i < nthreads; ++i) {
		pthread_join(t[i], nullptr);
		if (r[i].failed)
			die("a racing key creation failed");
		start = std::min(start, r[i].start);
		end = std::max(end, r[i].end);
	}
	std::printf("key_create_race_us %.3f\n", (end - start) / 1e3);
	return 0;
}

// RSS of `rss_threads` live threads with 64 KiB stacks, with or without a
// block each; everything else in the process is the same.
int child_rss(bool with_block)
{
	tld_bench *skel = load_and_register();
	g_key = tld_create_key("rss.value", 8);
	if (tld_key_is_err(g_key) || !tld_data(g_key))
		die("setting up the main thread's block: %s", std::strerror(errno));

	static std::atomic<int> ready{0}, go{0}, failed{0};
	static bool block;
	block = with_block;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, rss_stack);
	std::vector<pthread_t> t(rss_threads);

	const long before = statm_resident_bytes();
	int created = 0;
	for (; created < rss_threads; ++created) {
		int e = pthread_create(&t[created], &attr, [](void *) -> void * {
			if (block) {
				auto *p = static_cast<std::uint64_t *>(tld_data(g_key));
				if (p)
					*p = 1;
				else
					failed++;
			}
			ready++;
			go.wait(0);
			return nullptr;
		}, nullptr);
		if (e) {
			std::fprintf(stderr, "tld-bench: pthread_create #%d: %s\n", created,
				     std::strerror(e));
			break;
		}
	}
	while (ready.load() < created)
		usleep(1000);
	const long after = statm_resident_bytes();
	go.store(1);
	go.notify_all();
	for (int i = 0; i < created; ++i)
		pthread_join(t[i], nullptr);
	if (created < rss_threads || failed)
		die("only %d threads (%d without a block)", created, failed.load());
	std::printf("rss_delta %ld\n", after - before);
	tld_bench__destroy(skel);
	return 0;
}

struct bpf_case {
	const char *figure;	// name printed (prefix "bpf_")
	bpf_program *prog;
	unsigned slot;		// the TLD it reads
};

void prog_info(bpf_program *prog, const char *figure)
{
	bpf_prog_info info = {};
	__u32 len = sizeof(info);
	if (bpf_prog_get_info_by_fd(bpf_program__fd(prog), &info, &len))
		return;
	std::printf("info %s %s xlated=%u jited=%u verified=%u\n", figure,
		    bpf_program__name(prog), info.xlated_prog_len / 8, info.jited_prog_len,
		    info.verified_insns);
}

// One BPF timing run: ns per iteration, checked against what was written.
double run_bpf(tld_bench *skel, const bpf_case &c, __u64 iters)
{
	skel->bss->iters = iters;
	skel->bss->sum = 0;
	skel->bss->done = 0;
	skel->bss->err = 0;
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	if (bpf_prog_test_run_opts(bpf_program__fd(c.prog), &opts))
		die("running %s: %s", bpf_program__name(c.prog), std::strerror(errno));
	if (skel->bss->err)
		die("%s: tld_object_init() returned %lld", bpf_program__name(c.prog),
		    static_cast<long long>(skel->bss->err));
	if (skel->bss->done != iters || skel->bss->sum != iters * TLD_BENCH_VALUE(c.slot))
		die("%s: read wrong data (%llu of %llu iterations)", bpf_program__name(c.prog),
		    static_cast<unsigned long long>(skel->bss->done),
		    static_cast<unsigned long long>(iters));
	return static_cast<double>(skel->bss->elapsed_ns) / static_cast<double>(iters);
}

int child_bpf(bool same_prefix)
{
	tld_bench *skel = load_and_register();
	tld_key_t keys[TLD_BENCH_KEYS];
	for (unsigned i = 0; i < TLD_BENCH_KEYS; ++i) {
		char name[32];
		std::snprintf(name, sizeof(name),
			      same_prefix ? TLD_BENCH_SP_NAME_FMT : TLD_BENCH_NAME_FMT, i);
		keys[i] = tld_create_key(name, 8);
		if (tld_key_is_err(keys[i]))
			die("tld_create_key(%s): %s", name, std::strerror(errno));
	}
	// This thread's block, registered in the object's map: BPF reads it.
	for (unsigned i = 0; i < TLD_BENCH_KEYS; ++i) {
		auto *p = static_cast<std::uint64_t *>(tld_data(keys[i]));
		if (!p)
			die("tld_data: %s", std::strerror(errno));
		*p = TLD_BENCH_VALUE(i);
	}
	if (int err = tld_thread_init())
		die("tld_thread_init: %s", std::strerror(-err));

	std::vector<bpf_case> cases;
	if (same_prefix) {
		cases = {
			{"uncached_first_sameprefix_ns", skel->progs.bench_sp_first, 0},
			{"uncached_last_sameprefix_ns", skel->progs.bench_sp_last, 62},
			{"uncached_last_sameprefix_helper_ns", skel->progs.bench_sp_last_helper, 62},
		};
	} else {
		cases = {
			{"cached_ns", skel->progs.bench_cached, 0},
			{"cached_upstream_ns", skel->progs.bench_cached_upstream, 0},
			{"uncached_first_ns", skel->progs.bench_first, 0},
			{"uncached_first_helper_ns", skel->progs.bench_first_helper, 0},
			{"uncached_last_ns", skel->progs.bench_last, 62},
			{"uncached_last_helper_ns", skel->progs.bench_last_helper, 62},
		};
	}
	std::vector<__u64> iters;
	for (const auto &c : cases) {
		prog_info(c.prog, c.figure);
		double ns = run_bpf(skel, c, 2000);	// warm up, fill the caches
		double n = std::clamp(bpf_target_ns / std::max(ns, 1.0), 1000.0, 8e6);
		iters.push_back(static_cast<__u64>(n));
	}
	for (int r = 0; r < bpf_reps; ++r)
		for (std::size_t i = 0; i < cases.size(); ++i)
			std::printf("bpf_%s %.3f\n", cases[i].figure, run_bpf(skel, cases[i], iters[i]));
	tld_bench__destroy(skel);
	return 0;
}

// Instructions the verifier processed for each program of bench_sites
// (1, 4, 16 and 64 lookup sites; tld.bpf.h and the reference), each loaded
// alone.  Deterministic for one kernel and object: one sample each.
void measure_verifier(samples &s)
{
	std::size_t size = 0;
	const void *elf = bench_sites__elf_bytes(&size);
	std::vector<std::string> names;
	if (bpf_object *o = bpf_object__open_mem(elf, size, nullptr)) {
		bpf_program *p;
		bpf_object__for_each_program(p, o)
		names.push_back(bpf_program__name(p));
		bpf_object__close(o);
	}
	for (const auto &name : names) {
		if (name == "tld_exec")
			continue;
		bpf_object *o = bpf_object__open_mem(elf, size, nullptr);
		if (!o)
			die("opening bench_sites: %s", std::strerror(errno));
		bpf_program *p;
		bpf_object__for_each_program(p, o)
		bpf_program__set_autoload(p, name == bpf_program__name(p));
		if (bpf_object__load(o))
			die("loading %s: %s", name.c_str(), std::strerror(errno));
		bpf_prog_info info = {};
		__u32 len = sizeof(info);
		p = bpf_object__find_program_by_name(o, name.c_str());
		if (bpf_prog_get_info_by_fd(bpf_program__fd(p), &info, &len))
			die("prog info %s: %s", name.c_str(), std::strerror(errno));
		s["verifier_" + name].push_back(info.verified_insns);
		bpf_object__close(o);
	}
}

int run_child(int argc, char **argv)
{
	const std::string kind = argc > 2 ? argv[2] : "";
	const std::string arg = argc > 3 ? argv[3] : "";
	if (kind == "keys")
		return child_keys(std::atoi(arg.c_str()));
	if (kind == "rss")
		return child_rss(arg == "block");
	if (kind == "bpf")
		return child_bpf(arg == "sameprefix");
	die("unknown child %s", kind.c_str());
}

// Runs this program as a child and collects its "name value" lines.
void spawn(const std::vector<std::string> &args, samples &out,
	   std::vector<std::string> *info = nullptr)
{
	int pfd[2];
	if (pipe(pfd))
		die("pipe: %s", std::strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", std::strerror(errno));
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		std::vector<char *> av;
		static char self[] = "tld-bench";
		static char child[] = "--child";
		av.push_back(self);
		av.push_back(child);
		for (const auto &a : args)
			av.push_back(const_cast<char *>(a.c_str()));
		av.push_back(nullptr);
		execv("/proc/self/exe", av.data());
		_exit(127);
	}
	close(pfd[1]);
	FILE *f = fdopen(pfd[0], "r");
	char line[512];
	while (std::fgets(line, sizeof(line), f)) {
		if (!std::strncmp(line, "info ", 5)) {
			if (info) {
				line[std::strcspn(line, "\n")] = 0;
				info->push_back(line + 5);
			}
			continue;
		}
		char name[128];
		double v;
		if (std::sscanf(line, "%127s %lf", name, &v) == 2)
			out[name].push_back(v);
	}
	std::fclose(f);
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		die("child %s failed", args.empty() ? "" : args[0].c_str());
}

// ---- statistics and output -----------------------------------------------------

struct stat3 {
	double med = 0, min = 0, max = 0;
	bool ok = false;
};

stat3 stats(const std::vector<double> &v)
{
	stat3 s;
	if (v.empty())
		return s;
	std::vector<double> w = v;
	std::sort(w.begin(), w.end());
	const std::size_t n = w.size();
	s.med = n % 2 ? w[n / 2] : (w[n / 2 - 1] + w[n / 2]) / 2;
	s.min = w.front();
	s.max = w.back();
	s.ok = true;
	return s;
}

struct figure {
	const char *key;
	const char *unit;
	const char *how;
};

const figure figures[] = {
	{"store_ns", "ns", "floor: store through a plain `__thread` pointer"},
	{"tld_data_ns", "ns", "`tld_data(key)` + store as a consumer compiles it against <tld/tld.h>"},
	{"tld_data_symbol_ns", "ns", "the exported `tld_data` symbol called through a pointer (dlsym)"},
	{"tld_get_data_ns", "ns", "`tld_get_data(fd, key)` + store"},
	{"cached_ptr_ns", "ns", "store through a pointer obtained once"},
	{"map_update_ns", "ns", "`bpf_map_update_elem()` on a hash map keyed by tid"},
	{"thread_plain_us", "us", "`pthread_create` + `pthread_join`, default attributes"},
	{"thread_tld_us", "us", "the same, the thread calls `tld_data()` once (1 map registered)"},
	{"thread_floor_register_us", "us",
	 "no libtld: the thread makes the system calls of a registration itself "
	 "(gettid, pidfd_open, map update, close)"},
	{"thread_floor_us", "us",
	 "no libtld: the same, and the delete before it ends (pidfd_open, map delete, close)"},
	{"syscall_gettid_us", "us", "one `gettid` system call"},
	{"syscall_pidfd_us", "us", "`pidfd_open(tid, PIDFD_THREAD)` + `close`"},
	{"syscall_storage_us", "us",
	 "creating and deleting a task storage element that pins a page (update + delete)"},
	{"thread_tld_nomap_us", "us", "the same with no map registered (for attribution)"},
	{"thread_plain_cpu_us", "us", "process CPU time per plain thread (less sensitive to other load)"},
	{"thread_tld_cpu_us", "us", "process CPU time per thread with a first lookup (1 map)"},
	{"thread_plain_nomap_cpu_us", "us", "process CPU time per plain thread, measured beside the next"},
	{"thread_tld_nomap_cpu_us", "us", "process CPU time per thread with a first lookup, no map"},
	{"rss_per_thread_bytes", "B",
	 "(RSS with 10,000 threads holding a block - RSS before) - (the same without blocks), "
	 "/ 10,000; 64 KiB stacks; RSS from /proc/self/statm; fresh process per sample"},
	{"key_create_us", "us", "63 `tld_create_key()` from one thread, fresh process per sample"},
	{"key_create_race_us", "us",
	 "63 keys from 8 racing threads, first start to last finish, fresh process per sample"},
	{"bpf_cached_ns", "ns", "`tld_object_init` + `tld_get_data` of a cached key, per bpf_loop iteration"},
	{"bpf_cached_upstream_ns", "ns", "the same, upstream's way (inline init, `bpf_for` retry loop)"},
	{"bpf_uncached_first_ns", "ns", "lookup by name of the 1st TLD, cache entry reset to 0 each time"},
	{"bpf_uncached_first_helper_ns", "ns", "the same, a `bpf_strncmp` per slot (upstream's way)"},
	{"bpf_uncached_last_ns", "ns", "lookup by name of the 63rd TLD (distinct 8-byte prefixes)"},
	{"bpf_uncached_last_helper_ns", "ns", "the same, a `bpf_strncmp` per slot (upstream's way)"},
	{"bpf_uncached_first_sameprefix_ns", "ns", "1st TLD, names share 14 bytes (`app.component.xx`)"},
	{"bpf_uncached_last_sameprefix_ns", "ns", "63rd TLD, names share 14 bytes"},
	{"bpf_uncached_last_sameprefix_helper_ns", "ns", "the same, a `bpf_strncmp` per slot"},
	{"verifier_sites_1", "insns", "instructions the verifier processed: a tp_btf program, 1 lookup"},
	{"verifier_sites_4", "insns", "the same, 4 lookups of 17-byte names in a row"},
	{"verifier_sites_16", "insns", "the same, 16 lookups"},
	{"verifier_sites_64", "insns", "the same, 64 lookups"},
	{"verifier_ref_sites_1", "insns", "1 lookup, the reference (upstream's way)"},
	{"verifier_ref_sites_4", "insns", "4 lookups, the reference"},
	{"verifier_ref_sites_16", "insns", "16 lookups, the reference"},
	{"verifier_ref_sites_64", "insns", "64 lookups, the reference"},
};

struct goal {
	const char *text;
	const char *num, *den;
	double target;
	bool at_most;
};

const goal goals[] = {
	{"tld_data_ns at most 4x store_ns", "tld_data_ns", "store_ns", 4.0, true},
	{"map_update_ns at least 100x tld_data_ns", "map_update_ns", "tld_data_ns", 100.0, false},
	{"thread_tld_us at most 1.10x thread_plain_us", "thread_tld_us", "thread_plain_us", 1.10, true},
	{"(diagnostic) the same in process CPU time", "thread_tld_cpu_us", "thread_plain_cpu_us", 1.10,
	 true},
	{"(diagnostic) the system calls of a registration alone, over thread_plain_us",
	 "thread_floor_register_us", "thread_plain_us", 1.10, true},
	{"(diagnostic) thread_tld_us over the same system calls made without libtld",
	 "thread_tld_us", "thread_floor_us", 1.10, true},
	{"bpf_uncached_last_helper_ns at least 5x bpf_uncached_last_ns",
	 "bpf_uncached_last_helper_ns", "bpf_uncached_last_ns", 5.0, false},
	{"bpf_cached_ns no worse than bpf_cached_upstream_ns", "bpf_cached_ns",
	 "bpf_cached_upstream_ns", 1.0, true},
	{"rss_per_thread_bytes at most 4096+512", "rss_per_thread_bytes", nullptr, 4608.0, true},
	{"verifier_sites_16 at most 60000", "verifier_sites_16", nullptr, 60000.0, true},
	{"verifier_sites_64 at most 120000", "verifier_sites_64", nullptr, 120000.0, true},
};

std::string fmt(double v)
{
	char b[32];
	if (v >= 1000)
		std::snprintf(b, sizeof(b), "%.0f", v);
	else if (v >= 10)
		std::snprintf(b, sizeof(b), "%.1f", v);
	else
		std::snprintf(b, sizeof(b), "%.2f", v);
	return b;
}

std::string library_path()
{
	Dl_info di;
	// tld_create_key: tld_data() may be an inline copy in this program.
	if (dladdr(reinterpret_cast<void *>(&tld_create_key), &di) && di.dli_fname)
		return di.dli_fname;
	return "?";
}

// Returns 1 when a figure is missing from a full run.
std::string loadavg()
{
	char b[64] = "?";
	if (FILE *f = std::fopen("/proc/loadavg", "r")) {
		if (!std::fgets(b, sizeof(b), f))
			b[0] = 0;
		std::fclose(f);
	}
	// The three averages only.
	std::string l = b;
	for (int i = 0, at = 0; i < 3; ++i) {
		std::size_t sp = l.find(' ', at);
		if (sp == std::string::npos)
			return l;
		if (i == 2)
			return l.substr(0, sp);
		at = static_cast<int>(sp) + 1;
	}
	return l;
}

int print_results(const samples &s, const std::vector<std::string> &info, const char *json,
		  bool partial, const std::string &load_before)
{
	std::map<std::string, stat3> st;
	for (const auto &[k, v] : s)
		st[k] = stats(v);
	utsname u;
	uname(&u);
	std::printf("## libtld benchmark\n\nkernel %s, %ld CPUs, libtld from %s; "
		    "median of %d (in-process), %d (one process each) or %d (BPF: %d loads x %d) "
		    "samples; load average before: %s, after: %s\n\n",
		    u.release, sysconf(_SC_NPROCESSORS_ONLN), library_path().c_str(), reps,
		    child_reps, bpf_loads * bpf_reps, bpf_loads, bpf_reps, load_before.c_str(),
		    loadavg().c_str());
	std::printf("| figure | median | min-max | unit | how |\n|---|---:|---:|---|---|\n");
	int missing = 0;
	for (const auto &f : figures) {
		auto it = st.find(f.key);
		if (it == st.end() || !it->second.ok) {
			if (partial)
				continue;
			std::printf("| %s | n/a | | %s | %s |\n", f.key, f.unit, f.how);
			++missing;
			continue;
		}
		const stat3 &x = it->second;
		std::printf("| %s | %s | %s-%s | %s | %s |\n", f.key, fmt(x.med).c_str(),
			    fmt(x.min).c_str(), fmt(x.max).c_str(), f.unit, f.how);
	}
	std::string rows;
	for (const auto &g : goals) {
		auto n = st.find(g.num);
		auto d = g.den ? st.find(g.den) : st.end();
		char line[320];
		if (n == st.end() || (g.den && d == st.end())) {
			if (partial)
				continue;
			std::snprintf(line, sizeof(line), "| %s | n/a | n/a | | n/a |\n", g.text);
		} else {
			// Samples of the two figures with the same index were taken
			// side by side (same repetition, same process): their ratios
			// cancel load that comes and goes, which a ratio of medians
			// taken minutes apart does not.  The goal is judged on the
			// median of those ratios.
			double r = g.den ? n->second.med / d->second.med : n->second.med;
			double paired = r;
			std::string paired_text = "-";
			if (g.den) {
				const auto &a = s.at(g.num), &b = s.at(g.den);
				if (a.size() == b.size()) {
					std::vector<double> q;
					for (std::size_t i = 0; i < a.size(); ++i)
						q.push_back(a[i] / b[i]);
					paired = stats(q).med;
					paired_text = fmt(paired) + "x";
				}
			}
			bool met = g.at_most ? paired <= g.target : paired >= g.target;
			std::string unit = "x";
			if (!g.den)
				for (const auto &f : figures)
					if (!std::strcmp(f.key, g.num))
						unit = std::string(" ") + f.unit;
			std::snprintf(line, sizeof(line), "| %s | %s%s | %s | %s%s | %s |\n", g.text,
				      fmt(r).c_str(), unit.c_str(), paired_text.c_str(),
				      g.at_most ? "<= " : ">= ", fmt(g.target).c_str(),
				      met ? "yes" : "**no**");
		}
		rows += line;
	}
	if (!rows.empty())
		std::printf("\n| goal | ratio of medians | median of paired ratios | target | met |\n"
			    "|---|---:|---:|---:|---|\n%s",
			    rows.c_str());
	if (!info.empty()) {
		std::printf("\nBPF programs (instructions after verification / JIT bytes / "
			    "instructions the verifier processed):\n\n");
		for (const auto &i : info)
			std::printf("    %s\n", i.c_str());
	}
	if (json) {
		FILE *f = std::fopen(json, "w");
		if (!f)
			die("writing %s: %s", json, std::strerror(errno));
		std::fprintf(f, "{\n");
		bool first = true;
		for (const auto &fg : figures) {
			auto it = st.find(fg.key);
			if (it == st.end() || !it->second.ok)
				continue;
			std::fprintf(f, "%s  \"%s\": %.6g", first ? "" : ",\n", fg.key, it->second.med);
			first = false;
		}
		std::fprintf(f, "\n}\n");
		std::fclose(f);
	}
	return missing ? 1 : 0;
}

// ---- the in-process figures -------------------------------------------------------

tld_bench *g_skel;

// The process's own key and map, for the in-process figures.
void setup_in_process()
{
	if (g_skel)
		return;
	g_skel = load_and_register();
	g_map_fd = bpf_map__fd(g_skel->maps.tld_data_map);
	g_key = tld_create_key("bench.value", 8);
	if (tld_key_is_err(g_key))
		die("tld_create_key: %s", std::strerror(errno));
}

void measure_stores(samples &s)
{
	setup_in_process();
	auto *cached = static_cast<std::uint64_t *>(tld_get_data(g_map_fd, g_key));
	if (!cached)
		die("tld_get_data: %s", std::strerror(errno));
	std::uint64_t floor_target = 0;
	t_ptr = &floor_target;
	const int hash_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "bench_by_tid", sizeof(__u32),
					   sizeof(__u64), 1024, nullptr);
	if (hash_fd < 0)
		die("bpf_map_create: %s", std::strerror(errno));

	auto sym = reinterpret_cast<data_fn>(dlsym(RTLD_DEFAULT, "tld_data"));
	if (!sym)
		die("dlsym(tld_data): %s", dlerror());
	loop_store(store_iters / 10);	// warm up
	loop_tld_data(store_iters / 10);
	for (int r = 0; r < reps; ++r) {
		s["store_ns"].push_back(loop_store(store_iters));
		s["tld_data_ns"].push_back(loop_tld_data(store_iters));
		s["tld_data_symbol_ns"].push_back(loop_tld_data_symbol(sym, store_iters));
		s["tld_get_data_ns"].push_back(loop_tld_get_data(g_map_fd, store_iters));
		s["cached_ptr_ns"].push_back(loop_cached(cached, store_iters));
		s["map_update_ns"].push_back(loop_map_update(hash_fd, map_iters));
	}
	close(hash_fd);
}

// What the system calls of a registration cost on their own, for the
// attribution of the thread figures.  Run in a thread of its own: the
// calling thread may hold an element in the map already.
void measure_syscalls_here(samples &s)
{
	constexpr int n = 2000;
	const pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
	__u64 value[2];
	floor_value(0, value);
	for (int r = 0; r < reps; ++r) {
		double t0 = now_ns();
		for (int i = 0; i < n; ++i)
			syscall(SYS_gettid);
		s["syscall_gettid_us"].push_back((now_ns() - t0) / n / 1e3);
		t0 = now_ns();
		for (int i = 0; i < n; ++i) {
			int pidfd = floor_pidfd(tid);
			if (pidfd < 0)
				die("pidfd_open: %s", std::strerror(errno));
			syscall(SYS_close, pidfd);
		}
		s["syscall_pidfd_us"].push_back((now_ns() - t0) / n / 1e3);
		int pidfd = floor_pidfd(tid);
		if (pidfd < 0)
			die("pidfd_open: %s", std::strerror(errno));
		t0 = now_ns();
		for (int i = 0; i < n; ++i) {
			if (bpf_map_update_elem(g_map_fd, &pidfd, value, BPF_NOEXIST) ||
			    bpf_map_delete_elem(g_map_fd, &pidfd))
				die("task storage update/delete: %s", std::strerror(errno));
		}
		s["syscall_storage_us"].push_back((now_ns() - t0) / n / 1e3);
		syscall(SYS_close, pidfd);
	}
}

void measure_syscalls(samples &s)
{
	pthread_t t;
	auto run = [](void *arg) -> void * {
		measure_syscalls_here(*static_cast<samples *>(arg));
		return nullptr;
	};
	if (int e = pthread_create(&t, nullptr, run, &s))
		die("pthread_create: %s", std::strerror(e));
	pthread_join(t, nullptr);
}

// One sample of each kind per repetition; within it the kinds alternate in
// small batches, so that a burst of load elsewhere hits both alike.
void measure_threads(samples &s)
{
	setup_in_process();
	constexpr int batch = 50;
	thread_cost warm;
	loop_threads(thread_plain, batch, warm);	// warm up the stack cache
	loop_threads(thread_tld, batch, warm);
	void *pages = mmap(nullptr, (floor_pages + 1) * floor_page_size(), PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED)
		die("mmap: %s", std::strerror(errno));
	g_floor_pages = static_cast<char *>(pages) + floor_page_size();
	g_floor_meta = reinterpret_cast<__u64>(pages);	// an empty metadata page
	loop_threads(thread_floor_full, batch, warm);
	for (int r = 0; r < reps; ++r) {
		thread_cost plain, tld, reg, full;
		for (int i = 0; i < thread_iters; i += batch) {
			loop_threads(thread_plain, batch, plain);
			loop_threads(thread_tld, batch, tld);
			loop_threads(thread_floor_register, batch, reg);
			loop_threads(thread_floor_full, batch, full);
		}
		s["thread_plain_us"].push_back(plain.wall_ns / plain.n / 1e3);
		s["thread_tld_us"].push_back(tld.wall_ns / tld.n / 1e3);
		s["thread_floor_register_us"].push_back(reg.wall_ns / reg.n / 1e3);
		s["thread_floor_us"].push_back(full.wall_ns / full.n / 1e3);
		s["thread_plain_cpu_us"].push_back(plain.cpu_ns / plain.n / 1e3);
		s["thread_tld_cpu_us"].push_back(tld.cpu_ns / tld.n / 1e3);
	}
	measure_syscalls(s);
	if (tld_map_unregister(g_map_fd))
		die("tld_map_unregister: %s", std::strerror(errno));
	for (int r = 0; r < reps; ++r) {
		thread_cost plain, tld;
		for (int i = 0; i < thread_iters; i += batch) {
			loop_threads(thread_plain, batch, plain);
			loop_threads(thread_tld, batch, tld);
		}
		s["thread_tld_nomap_us"].push_back(tld.wall_ns / tld.n / 1e3);
		s["thread_tld_nomap_cpu_us"].push_back(tld.cpu_ns / tld.n / 1e3);
		s["thread_plain_nomap_cpu_us"].push_back(plain.cpu_ns / plain.n / 1e3);
	}
	if (tld_map_register(g_map_fd))
		die("tld_map_register: %s", std::strerror(errno));
}

} // namespace

int main(int argc, char **argv)
{
	if (argc > 1 && !std::strcmp(argv[1], "--child"))
		return run_child(argc, argv);
	const char *json = nullptr;
	std::string only = "keys,bpf,verifier,rss,stores,threads";
	for (int i = 1; i < argc; ++i) {
		if (!std::strcmp(argv[i], "--json") && i + 1 < argc)
			json = argv[++i];
		else if (!std::strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else
			die("usage: tld-bench [--json PATH] [--only keys,bpf,verifier,rss,stores,threads]");
	}
	auto want = [&](const char *section) {
		std::size_t len = std::strlen(section);
		for (std::size_t at = 0; at <= only.size();) {
			std::size_t end = only.find(',', at);
			if (end == std::string::npos)
				end = only.size();
			if (end - at == len && !only.compare(at, len, section))
				return true;
			at = end + 1;
		}
		return false;
	};

	const std::string load_before = loadavg();
	samples s;
	std::vector<std::string> info;
	if (want("keys"))
		for (int r = 0; r < child_reps; ++r) {
			spawn({"keys", "1"}, s);
			spawn({"keys", "8"}, s);
		}
	if (want("bpf"))
		for (int r = 0; r < bpf_loads; ++r) {
			spawn({"bpf", "distinct"}, s, r ? nullptr : &info);
			spawn({"bpf", "sameprefix"}, s, r ? nullptr : &info);
		}
	if (want("verifier"))
		measure_verifier(s);
	if (want("rss"))
		for (int r = 0; r < child_reps; ++r) {
			samples a, b;
			spawn({"rss", "plain"}, a);
			spawn({"rss", "block"}, b);
			if (a["rss_delta"].size() == 1 && b["rss_delta"].size() == 1)
				s["rss_per_thread_bytes"].push_back(
					(b["rss_delta"][0] - a["rss_delta"][0]) / rss_threads);
		}
	if (want("stores"))
		measure_stores(s);
	if (want("threads"))
		measure_threads(s);
	const bool partial = !(want("keys") && want("bpf") && want("verifier") && want("rss") &&
			       want("stores") && want("threads"));
	return print_results(s, info, json, partial, load_before);
}
