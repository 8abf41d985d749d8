// The BPF test harness of every suite: BPF readers of task local data loaded
// on the running kernel, the maps libtld must refuse, and the rule for a
// machine where BPF cannot be used.
//
// Readers:
//   verify       bpf/tld_verify.bpf.c, the verification program libtld
//                ships (<tld/tld.bpf.h>, built with TLD_STRICT_ALIGNMENT)
//   probe        tests/lib/probe.bpf.c: <tld/tld.bpf.h> as a consumer uses
//                it, with a task iterator that reads any thread of any
//                process; probe_exact is the same built with TLD_CHECK_SIZE
//   proto_v1     tests/lib/proto_reader.bpf.c: a reader written from the
//   proto_b      protocol alone, sharing no code with <tld/tld.bpf.h>, of a
//                version 1 map and of a variant B map
#pragma once

#include <linux/types.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

struct bpf_object;
struct bpf_program;

namespace tldtest {

// A TLD to read: its name and the bytes to read (at most value_max).
struct spec {
	std::string name;
	std::size_t size;
};

struct item {
	int found = 0;			// 1 found, 0 not found, -1 two lookups disagreed
	std::uint32_t page_off = 0;	// page offset BPF found it at
	std::vector<std::uint8_t> value;
};

struct reading {
	int err = 0;			// tld_object_init() (or the reader's equivalent)
	pid_t tid = 0;			// the thread read (probe readers)
	pid_t tgid = 0;
	bool has_elem = false;		// it has an element in the data map (probe readers)
	std::vector<item> items;
};

// Flags of a read.
inline constexpr std::uint32_t reset_cache = 1;	// delete the task's key cache first
inline constexpr std::uint32_t twice = 2;	// look up twice; the second must agree
inline constexpr std::size_t items_max = 63;	// TLDs per read
inline constexpr std::size_t value_max = 64;	// bytes copied per TLD

class reader {
public:
	enum kind { verify, probe, probe_exact, proto_v1, proto_b };

	// Throws std::runtime_error when the object cannot be loaded.
	explicit reader(kind k = probe);
	~reader();
	reader(const reader &) = delete;
	reader &operator=(const reader &) = delete;

	// The task storage map the reader reads TLDs from.
	int data_map_fd() const { return data_map_fd_; }

	// The calling thread's TLDs, read by a syscall program.
	reading read(const std::vector<spec> &tlds, std::uint32_t flags = reset_cache | twice) const;

	// Every thread of process `pid`, read by the task iterator (probe
	// readers only); with no `tlds`, only which threads have an element.
	std::vector<reading> read_process(pid_t pid, const std::vector<spec> &tlds = {},
					  std::uint32_t flags = reset_cache | twice) const;

	// Threads of `pid` that have an element in the data map (probe readers).
	std::vector<pid_t> threads_with_element(pid_t pid) const;

	// Attach the program tld_exec of <tld/tld.bpf.h> (verify and probe
	// readers), as a consumer's skeleton does: a task that execs loses its
	// elements.  Throws on failure.
	void attach_exec();

private:
	kind kind_;
	void *skel_ = nullptr;
	bpf_object *obj_ = nullptr;
	void *iter_prog_ = nullptr;
	void *exec_link_ = nullptr;
	int data_map_fd_ = -1;
	int req_map_fd_ = -1;
	int cfg_map_fd_ = -1;
	int read_prog_fd_ = -1;
};

// Run the task iterator `prog` over the threads of process `pid` (every
// task of the system when 0): what it wrote.  Throws when it cannot be
// attached, created or read.
std::vector<std::uint8_t> iterate_tasks(bpf_program *prog, pid_t pid);

// The maps of tests/lib/odd_maps.bpf.c: layouts libtld must refuse.
class odd_maps {
public:
	odd_maps();
	~odd_maps();
	odd_maps(const odd_maps &) = delete;
	odd_maps &operator=(const odd_maps &) = delete;
	int variant_c() const;
	// Task storage maps with UPTR fields of other shapes, by name:
	// small_slots, count32, short_page, no_slot_array, swapped.
	int shaped(const char *name) const;
	int no_uptr16() const;
	int no_uptr24() const;
	int array16() const;
	int hash16() const;
	int prog() const;
	int btf() const;	// the object's BTF

private:
	void *skel_;
};

// A pin of a BPF object at /sys/fs/bpf/tld-test-NAME-PID (bpffs is mounted
// first if needed), removed with the object.  Throws when pinning fails.
struct pin {
	std::string path;
	pin(int fd, const std::string &name);
	~pin();
	pin(const pin &) = delete;
	pin &operator=(const pin &) = delete;
	// chown and chmod the pin; throws on failure.
	void set(mode_t mode, uid_t uid, gid_t gid) const;
};

// A directory and the files in it, removed at the end of the scope.
struct removed_dir {
	std::string dir;
	std::vector<std::string> files;
	~removed_dir();
};

// The bytes of a value as a vector, for comparisons.
template <typename T> std::vector<std::uint8_t> bytes_of(const T &v)
{
	auto p = reinterpret_cast<const std::uint8_t *>(&v);
	return {p, p + sizeof(T)};
}

// Thread id of the caller.
pid_t gettid_();

// pidfd (PIDFD_THREAD) of thread `tid`, or -errno.
int thread_pidfd(pid_t tid);

// True when thread `tid` (by default the caller) has an element in the task
// storage map `map_fd`.  Throws when the thread cannot be looked up.
bool has_element(int map_fd, pid_t tid = 0);

// Number of open file descriptors of this process.
int count_fds();

// libtld holds one descriptor in reserve once the process registered a map
// (libtld(7)): register and unregister a map of a reader of its own, so
// that a test which counts descriptors has the reserve in its baseline.
void hold_reserve();

// Resident set size of this process in KiB.
long rss_kib();

// Load a reader once to see whether BPF works here; if not, skip or fail
// by the rule of skip.hpp (tldtest::skip_or_fail()).
void require_bpf();

} // namespace tldtest
