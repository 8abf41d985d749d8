// The robustness suites' BPF side (probe.bpf.c) from user space: read the
// calling thread's TLDs, read every thread of a process through a task
// iterator, and list which threads have an element in the probe's map.
#pragma once

#include <linux/types.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "probe.h"

struct bpf_object;

namespace probe {

struct spec {
	std::string name;
	std::size_t size;
};

struct item {
	int found = 0;			// 1 found, 0 not found, -1 two lookups disagreed
	std::uint32_t page_off = 0;
	std::vector<std::uint8_t> value;
};

struct reading {
	int err = 0;			// tld_object_init()
	pid_t tid = 0;
	pid_t tgid = 0;
	bool has_elem = false;
	std::vector<item> items;
};

class object {
public:
	// check_size: the object built with TLD_CHECK_SIZE 1.  Throws
	// std::runtime_error when the object cannot be loaded.
	explicit object(bool check_size = false);
	~object();
	object(const object &) = delete;
	object &operator=(const object &) = delete;

	// The object's tld_data_map (a version 1 map).
	int data_map_fd() const { return data_map_fd_; }

	// The calling thread's TLDs, read by the syscall program.
	reading read_self(const std::vector<spec> &tlds,
			  std::uint32_t flags = PROBE_RESET_CACHE | PROBE_TWICE) const;

	// Every thread of process `pid`, read by the task iterator; with no
	// `tlds`, only which threads have an element.
	std::vector<reading> read_process(pid_t pid, const std::vector<spec> &tlds = {},
					  std::uint32_t flags = PROBE_RESET_CACHE | PROBE_TWICE) const;

	// Threads of `pid` that have an element in tld_data_map.
	std::vector<pid_t> threads_with_element(pid_t pid) const;

private:
	void *skel_ = nullptr;
	bool check_size_;
	bpf_object *obj_ = nullptr;
	int data_map_fd_ = -1;
	int req_map_fd_ = -1;
	int cfg_map_fd_ = -1;
	int read_prog_fd_ = -1;
	void *iter_prog_ = nullptr;
};

template <typename T> std::vector<std::uint8_t> bytes_of(const T &v)
{
	auto p = reinterpret_cast<const std::uint8_t *>(&v);
	return {p, p + sizeof(T)};
}

// Thread id of the caller.
pid_t gettid_();

// pidfd (PIDFD_THREAD) of thread `tid`, or -errno.
int thread_pidfd(pid_t tid);

// Number of open file descriptors of this process.
int count_fds();

// Resident set size of this process in KiB.
long rss_kib();

// The BPF suites' rule: when BPF cannot be used here, exit 77 (skip), or 1
// when CI is set in the environment.  Prints why.
[[noreturn]] void cannot_run(const std::string &why);

// Load a probe object once to see whether BPF works here; calls cannot_run()
// if not.
void require_bpf();

} // namespace probe
