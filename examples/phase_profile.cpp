// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// phase_profile: worker threads move through the phases of a request
// (parse, compute, reply) and say which phase they are in through a TLD;
// a BPF program on sched_switch charges their on-CPU time to that phase.
// The table at the end shows where the CPU time went, beside the shares the
// workload was written to spend.
//
//	phase_profile [--seconds S] [--threads N] [--check]
//
// --check exits 1 when a measured share is more than 5 points away from the
// planned one.  Needs root (loading a tracing program).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include <time.h>
#include <unistd.h>

#include <tld/tld.hpp>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "phase_profile.h"
#include "phase_profile.skel.h"

namespace {

struct phase {
	std::uint32_t id;
	const char *name;
	double ms;	// CPU time per request spent in this phase
};

// Lengths are not multiples of one another nor of a scheduler slice, so the
// moments the profiler samples (context switches) fall all over the cycle.
const phase plan[] = {{1, "parse", 2.5}, {2, "compute", 1.5}, {3, "reply", 1.0}};

TLD_KEY(std::uint32_t, current_phase, "phase");

double thread_cpu_ms()
{
	timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

void spin_cpu_ms(double ms)
{
	const double end = thread_cpu_ms() + ms;
	while (thread_cpu_ms() < end)
		;
}

void worker(const std::atomic<bool> &stop)
{
	while (!stop.load(std::memory_order_relaxed)) {
		for (const phase &p : plan) {
			tld::scoped<std::uint32_t> in(current_phase, p.id);
			spin_cpu_ms(p.ms);
		}
	}
}

} // namespace

int main(int argc, char **argv)
{
	double seconds = 3;
	unsigned threads = 2 * std::thread::hardware_concurrency();
	bool check = false;
	for (int i = 1; i < argc; ++i) {
		std::string a = argv[i];
		if (a == "--seconds" && i + 1 < argc)
			seconds = std::atof(argv[++i]);
		else if (a == "--threads" && i + 1 < argc)
			threads = static_cast<unsigned>(std::atoi(argv[++i]));
		else if (a == "--check")
			check = true;
		else {
			std::fprintf(stderr, "usage: phase_profile [--seconds S] [--threads N] [--check]\n");
			return 2;
		}
	}
	if (seconds <= 0 || threads == 0) {
		std::fprintf(stderr, "phase_profile: --seconds and --threads must be positive\n");
		return 2;
	}
	if (!current_phase) {
		std::fprintf(stderr, "phase_profile: creating the TLD: %s\n",
			     std::strerror(current_phase.error_code()));
		return 1;
	}

	phase_profile *skel = phase_profile__open();
	if (!skel)
		return 1;
	skel->rodata->target_tgid = static_cast<__u32>(getpid());
	if (phase_profile__load(skel) || phase_profile__attach(skel)) {
		std::fprintf(stderr, "phase_profile: loading the BPF program: %s (run as root)\n",
			     std::strerror(errno));
		phase_profile__destroy(skel);
		return 1;
	}
	{
		// Every worker thread is added to the map on its first lookup.
		tld::map reg(bpf_map__fd(skel->maps.tld_data_map));
		std::atomic<bool> stop{false};
		std::vector<std::thread> ts;
		for (unsigned t = 0; t < threads; ++t)
			ts.emplace_back(worker, std::cref(stop));
		std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
		stop = true;
		for (auto &t : ts)
			t.join();
	}
	phase_profile__detach(skel);

	double ns[PHASE_SLOTS] = {}, total = 0, planned = 0;
	for (__u32 k = 0; k < PHASE_SLOTS; ++k) {
		__u64 v = 0;
		bpf_map_lookup_elem(bpf_map__fd(skel->maps.phase_ns), &k, &v);
		ns[k] = double(v);
	}
	phase_profile__destroy(skel);
	for (const phase &p : plan) {
		total += ns[p.id];
		planned += p.ms;
	}
	std::printf("%-10s %12s %8s %9s\n", "phase", "CPU ms", "share", "planned");
	bool off = total <= 0;
	for (const phase &p : plan) {
		double share = total > 0 ? 100.0 * ns[p.id] / total : 0;
		double want = 100.0 * p.ms / planned;
		std::printf("%-10s %12.1f %7.1f%% %8.1f%%\n", p.name, ns[p.id] / 1e6, share, want);
		off = off || std::fabs(share - want) > 5.0;
	}
	std::printf("%-10s %12.1f %8s %9s\n", "(none)", ns[PHASE_NONE] / 1e6, "", "");
	if (check)
		std::printf("%s\n", off ? "shares differ from the plan by more than 5 points"
					: "shares match the plan within 5 points");
	return check && off ? 1 : 0;
}
