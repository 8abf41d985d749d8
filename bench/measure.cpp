// The in-process figures (measure.hpp).
#include "measure.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dlfcn.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "bench_sites.skel.h"
#include "pidfd.hpp"
#include "kernels.hpp"
#include "tld_bench.skel.h"
#include "verified.hpp"

namespace bench {
namespace {

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

} // namespace

void measure_stores(samples &s)
{
	setup_in_process();
	// Eight registered maps: the bench object's and seven more, so that
	// tld_get_data() alternates between maps the thread is in.
	std::vector<tld_bench *> more;
	int fds[8] = {g_map_fd};
	for (int i = 1; i < 8; ++i) {
		more.push_back(load_and_register());
		fds[i] = bpf_map__fd(more.back()->maps.tld_data_map);
	}
	auto *cached = static_cast<std::uint64_t *>(tld_data(g_key));
	for (int fd : fds)
		if (tld_get_data(fd, g_key) != cached)
			die("tld_get_data: %s", std::strerror(errno));
	std::uint64_t floor_target = 0;
	set_store_target(&floor_target);
	set_upstream_block();
	const int hash_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "bench_by_tid", sizeof(__u32),
					   sizeof(__u64), 1024, nullptr);
	if (hash_fd < 0)
		die("bpf_map_create: %s", std::strerror(errno));

	auto sym = reinterpret_cast<data_fn>(dlsym(RTLD_DEFAULT, "tld_data"));
	if (!sym)
		die("dlsym(tld_data): %s", dlerror());
	loop_store(store_iters / 10);	// warm up
	loop_tld_data(store_iters / 10);
	loop_tld_get_data(fds, 7, store_iters / 10);
	for (int r = 0; r < reps; ++r) {
		s["store_ns"].push_back(loop_store(store_iters));
		s["upstream_get_data_ns"].push_back(loop_upstream(store_iters));
		s["tld_data_ns"].push_back(loop_tld_data(store_iters));
		s["tld_data_symbol_ns"].push_back(loop_tld_data_symbol(sym, store_iters));
		s["tld_get_data_ns"].push_back(loop_tld_get_data(fds, 0, store_iters));
		s["tld_get_data_2maps_ns"].push_back(loop_tld_get_data(fds, 1, store_iters));
		s["tld_get_data_8maps_ns"].push_back(loop_tld_get_data(fds, 7, store_iters));
		s["cached_ptr_ns"].push_back(loop_cached(cached, store_iters));
		s["map_update_ns"].push_back(loop_map_update(hash_fd, map_iters));
	}
	close(hash_fd);
	for (tld_bench *b : more) {
		if (int err = tld_map_unregister(bpf_map__fd(b->maps.tld_data_map)))
			die("tld_map_unregister: %s", std::strerror(-err));
		tld_bench__destroy(b);
	}
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
			int pidfd = tld::open_thread_pidfd(tid);
			if (pidfd < 0)
				die("pidfd_open: %s", std::strerror(-pidfd));
			syscall(SYS_close, pidfd);
		}
		s["syscall_pidfd_us"].push_back((now_ns() - t0) / n / 1e3);
		int pidfd = tld::open_thread_pidfd(tid);
		if (pidfd < 0)
			die("pidfd_open: %s", std::strerror(-pidfd));
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
	setup_floor_pages();
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
	if (int err = tld_map_unregister(g_map_fd))
		die("tld_map_unregister: %s", std::strerror(-err));
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
	if (int err = tld_map_register(g_map_fd))
		die("tld_map_register: %s", std::strerror(-err));
}

// Instructions the verifier processed for each program of bench_sites
// (1, 4, 16 and 64 lookup sites; tld.bpf.h and the reference; built without
// tld_exec), each loaded alone.  Deterministic for one kernel and object:
// one sample each.
void measure_verifier(samples &s)
{
	std::size_t size = 0;
	const void *elf = bench_sites__elf_bytes(&size);
	auto open = [elf, size] { return bpf_object__open_mem(elf, size, nullptr); };
	const auto names = tldtest::program_names(open);
	if (names.empty())
		die("opening bench_sites: %s", std::strerror(errno));
	for (const auto &name : names) {
		const tldtest::verified r = tldtest::verify_one(open, name);
		if (!r.ok)
			die("loading %s: %s", name.c_str(), r.why.c_str());
		s["verifier_" + name].push_back(r.insns);
	}
}

} // namespace bench
