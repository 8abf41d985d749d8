// The child-process protocol (children.hpp).
#include "children.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tld_bench.h"
#include "tld_bench.skel.h"

namespace bench {
namespace {

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

} // namespace

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
void spawn(const std::vector<std::string> &args, samples &out, std::vector<std::string> *info)
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

} // namespace bench
