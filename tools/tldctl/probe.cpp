// tldctl probe: can this kernel run task local data, and if not, why.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <linux/types.h>
#include <memory>
#include <string>
#include <vector>

#include "tld/tld.h"
#include "tld_verify.h"
#include "tld_verify.skel.h"
#include "pidfd.hpp"
#include "text.hpp"
#include "tldctl.hpp"


namespace tldctl {
namespace {

struct verdict {
	bool ok;
	std::string why;	// the reason when not ok, a detail when ok
};

// One line of the report: a requirement and what was found.
struct requirement {
	const char *name;
	verdict v;
	bool required;	// task local data does not work without it
};

struct findings {
	std::vector<requirement> list;
	int failures = 0;
};

void report(const char *what, const verdict &v, bool required, findings &f)
{
	f.list.push_back({what, v, required});
	if (!v.ok && required)
		++f.failures;
}

void print_table(const char *kernel, const findings &f)
{
	if (kernel)
		std::printf("%-34s %s\n", "kernel", kernel);
	for (const auto &r : f.list)
		std::printf("%-34s %s%s%s\n", r.name, r.v.ok ? "ok" : (r.required ? "FAIL" : "missing"),
			    r.v.why.empty() ? "" : ": ", r.v.why.c_str());
	std::printf("%s\n", f.failures ? "task local data does NOT work here"
				       : "task local data works here");
}

void print_json(const char *kernel, const findings &f)
{
	std::printf("{\"kernel\":%s,\"requirements\":[", kernel ? json_string(kernel).c_str() : "null");
	for (std::size_t i = 0; i < f.list.size(); ++i) {
		const auto &r = f.list[i];
		std::printf("%s{\"name\":%s,\"ok\":%s,\"required\":%s,\"detail\":%s}", i ? "," : "",
			    json_string(r.name).c_str(), r.v.ok ? "true" : "false",
			    r.required ? "true" : "false", json_string(r.v.why).c_str());
	}
	std::printf("],\"works\":%s}\n", f.failures ? "false" : "true");
}

verdict check_bpf_syscall()
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "tldctl_probe", 4, 8, 1, &opts);
	if (fd >= 0) {
		close(fd);
		return {true, ""};
	}
	return {false, bpf_error_text(errno)};
}

verdict check_btf()
{
	struct stat st;
	if (stat("/sys/kernel/btf/vmlinux", &st) == 0)
		return {true, "/sys/kernel/btf/vmlinux"};
	return {false, "no /sys/kernel/btf/vmlinux: the kernel was built without CONFIG_DEBUG_INFO_BTF"};
}

verdict check_task_storage()
{
	int r = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, nullptr);
	if (r == 1)
		return {true, ""};
	if (r == 0)
		return {false, "the kernel has no BPF_MAP_TYPE_TASK_STORAGE (Linux 5.11 or later)"};
	return {false, bpf_error_text(r)};
}

verdict check_pidfd_thread()
{
	const int fd = tld::open_thread_pidfd(static_cast<pid_t>(syscall(SYS_gettid)));
	if (fd >= 0) {
		close(fd);
		return {true, ""};
	}
	if (fd == -EINVAL)
		return {false, "pidfd_open() refuses PIDFD_THREAD (Linux 6.9 or later)"};
	if (fd == -ENOSYS)
		return {false, "no pidfd_open() system call (Linux 5.3 or later)"};
	return {false, std::strerror(-fd)};
}

verdict check_bpffs()
{
	struct statfs sf;
	if (statfs("/sys/fs/bpf", &sf) == 0 && sf.f_type == BPF_FS_MAGIC)
		return {true, "/sys/fs/bpf"};
	return {false, "/sys/fs/bpf is not a bpf filesystem (mount -t bpf bpf /sys/fs/bpf); "
		       "needed only to share maps by path"};
}

// Loading the verification object creates a task storage map with UPTR
// fields; running its syscall program reads a TLD back.
void check_uptr_and_run(findings &found)
{
	tld_verify *skel = tld_verify__open_and_load();
	if (!skel) {
		int err = errno;
		report("task storage with UPTR fields", {false, err == EINVAL || err == ENOTSUP
				? "the kernel refused a map with UPTR fields (Linux 6.13 or later)"
				: bpf_error_text(err)}, true, found);
		report("syscall program test runs", {false, "not tried: nothing loaded"}, true, found);
		return;
	}
	report("task storage with UPTR fields", {true, ""}, true, found);

	verdict run{false, ""};
	int map_fd = bpf_map__fd(skel->maps.tld_data_map);
	tld_key_t k = tld_create_key("tldctl.probe", sizeof(__u64));
	auto *p = static_cast<__u64 *>(tld_get_data(map_fd, k));
	if (tld_key_is_err(k) || !p) {
		run.why = std::string("libtld could not register a thread: ") + std::strerror(errno);
	} else {
		*p = 0x7ab1e5;
		auto req = std::make_unique<tld_verify_req>();	// zeroed
		req->count = 1;
		req->flags = TLD_VERIFY_RESET_CACHE;
		std::strcpy(req->item[0].name, "tldctl.probe");
		req->item[0].size = sizeof(__u64);
		if (int err = verify_request(skel, *req)) {
			run.why = bpf_error_text(err);
		} else {
			__u64 got = 0;
			std::memcpy(&got, req->item[0].value, sizeof(got));
			run.ok = req->item[0].found == 1 && got == *p;
			if (!run.ok)
				run.why = "BPF did not read back the value written";
		}
		tld_map_unregister(map_fd);
	}
	report("syscall program test runs", run, true, found);
	tld_verify__destroy(skel);
}

int run_probe(const command &self, int argc, char **argv)
{
	bool json = false;
	int r = parse_options(self, argc, argv, {{"json", no_argument, nullptr, 'j'}},
			      [&](int, const char *) {
				      json = true;
				      return std::string();
			      });
	if (r >= 0)
		return r;
	struct utsname u;
	const char *kernel = uname(&u) == 0 ? u.release : nullptr;
	findings found;
	verdict bpf = check_bpf_syscall();
	report("bpf() available and permitted", bpf, true, found);
	report("kernel BTF", check_btf(), true, found);
	report("task storage maps", check_task_storage(), true, found);
	report("pidfd_open(PIDFD_THREAD)", check_pidfd_thread(), true, found);
	if (bpf.ok) {
		check_uptr_and_run(found);
	} else {
		report("task storage with UPTR fields", {false, "not tried: bpf() unavailable"}, true,
		       found);
		report("syscall program test runs", {false, "not tried: bpf() unavailable"}, true,
		       found);
	}
	report("bpffs mounted", check_bpffs(), false, found);
	if (json)
		print_json(kernel, found);
	else
		print_table(kernel, found);
	return found.failures ? exit_failed : exit_ok;
}

} // namespace

const command probe_command = {
	"probe",
	"probe [-j]",
	"check that this kernel supports task local data, and why not",
	"Checks, one line each, what task local data needs from the kernel: bpf()\n"
	"permitted, kernel BTF, task storage maps, pidfd_open(PIDFD_THREAD), a task\n"
	"storage map with UPTR fields, a syscall program that reads a TLD back;\n"
	"and whether bpffs is mounted (not required).  Exits 0 only when task\n"
	"local data works.\n"
	"\n"
	"  -j, --json    one JSON object: the kernel, each requirement (name, ok,\n"
	"                required, detail) and whether task local data works\n"
	"  -h, --help    show this text\n",
	run_probe,
};

} // namespace tldctl
