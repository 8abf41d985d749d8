#include "bpftest.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "odd_maps.skel.h"
#include "pidfd.hpp"
#include "skip.hpp"
#include "probe.h"
#include "proto_b.skel.h"
#include "proto_v1.skel.h"
#include "tld/tld.h"
#include "tld_verify.h"
#include "tld_verify.skel.h"
#include "tldprobe.skel.h"
#include "tldprobe_cs.skel.h"

namespace tldtest {

// The readers' requests (bpf/tld_verify.h, whose items tests/lib/probe.h
// uses too) hold what this harness asks for.
static_assert(items_max == TLD_VERIFY_ITEMS);
static_assert(value_max == TLD_VERIFY_VALUE_MAX);
static_assert(reset_cache == TLD_VERIFY_RESET_CACHE);
static_assert(twice == TLD_VERIFY_TWICE);
static_assert(offsetof(probe_req, item) == PROBE_HEAD_BYTES);

namespace {

[[noreturn]] void load_failed(const char *what)
{
	throw std::runtime_error(std::string("loading ") + what + ": " + std::strerror(errno));
}

// A reader's skeleton, opened and loaded; its object in `obj`.
template <typename S> S *load_skeleton(S *(*open_load)(), const char *name, bpf_object *&obj)
{
	S *s = open_load();
	if (!s)
		load_failed(name);
	obj = s->obj;
	return s;
}

bool is_probe(reader::kind k) { return k == reader::probe || k == reader::probe_exact; }

// Requests in the format of the reader: bpf/tld_verify.h (verify and the
// protocol readers) or tests/lib/probe.h (probe readers).
template <typename Req>
std::unique_ptr<Req> make_req(const std::vector<spec> &tlds, std::uint32_t flags)
{
	if (tlds.size() > items_max)
		throw std::invalid_argument("too many TLDs for one request");
	auto req = std::make_unique<Req>();
	std::memset(req.get(), 0, sizeof(*req));
	req->count = static_cast<__u32>(tlds.size());
	req->flags = flags;
	for (std::size_t i = 0; i < tlds.size(); ++i) {
		std::memcpy(req->item[i].name, tlds[i].name.data(),
			    std::min(tlds[i].name.size(), sizeof(req->item[i].name)));
		req->item[i].size = static_cast<__u32>(tlds[i].size);
	}
	return req;
}

template <typename Req> reading to_reading(const Req &r, std::size_t n)
{
	reading out;
	out.err = r.err;
	for (std::size_t i = 0; i < n && i < items_max; ++i) {
		item s;
		s.found = r.item[i].found;
		s.page_off = r.item[i].page_off;
		if (s.found == 1)
			s.value.assign(r.item[i].value,
				       r.item[i].value + std::min<std::size_t>(r.item[i].size, value_max));
		out.items.push_back(std::move(s));
	}
	return out;
}

reading probe_reading(const probe_req &r, std::size_t n)
{
	reading out = to_reading(r, n);
	out.tid = static_cast<pid_t>(r.tid);
	out.tgid = static_cast<pid_t>(r.tgid);
	out.has_elem = r.has_elem != 0;
	return out;
}

// Put `req` under the calling thread's id, run the syscall program from
// this thread and read the request back.
template <typename Req> void run_request(int req_map_fd, int prog_fd, Req &req)
{
	__u32 tid = static_cast<__u32>(gettid_());
	if (bpf_map_update_elem(req_map_fd, &tid, &req, BPF_ANY))
		throw std::runtime_error(std::string("request: ") + std::strerror(errno));
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err || opts.retval) {
		bpf_map_delete_elem(req_map_fd, &tid);
		throw std::runtime_error("running the reader failed: " + std::to_string(err) +
					 " retval " + std::to_string(opts.retval));
	}
	if (bpf_map_lookup_elem(req_map_fd, &tid, &req))
		throw std::runtime_error(std::string("reading back: ") + std::strerror(errno));
	bpf_map_delete_elem(req_map_fd, &tid);
}

} // namespace

reader::reader(kind k) : kind_(k)
{
	switch (k) {
	case verify: skel_ = load_skeleton(tld_verify__open_and_load, "tld_verify", obj_); break;
	case probe: skel_ = load_skeleton(tldprobe__open_and_load, "tldprobe", obj_); break;
	case probe_exact:
		skel_ = load_skeleton(tldprobe_cs__open_and_load, "tldprobe_cs", obj_);
		break;
	case proto_v1: skel_ = load_skeleton(proto_v1__open_and_load, "proto_v1", obj_); break;
	case proto_b: skel_ = load_skeleton(proto_b__open_and_load, "proto_b", obj_); break;
	}
	const bool proto = k == proto_v1 || k == proto_b;
	read_prog_fd_ = bpf_program__fd(bpf_object__find_program_by_name(
		obj_, k == verify ? "tld_verify_read" : proto ? "proto_read" : "probe_read"));
	data_map_fd_ = bpf_object__find_map_fd_by_name(obj_, proto ? "data_map" : "tld_data_map");
	req_map_fd_ = bpf_object__find_map_fd_by_name(
		obj_, k == verify ? "verify_reqs" : proto ? "reqs" : "probe_reqs");
	if (is_probe(k)) {
		iter_prog_ = bpf_object__find_program_by_name(obj_, "probe_iter");
		cfg_map_fd_ = bpf_object__find_map_fd_by_name(obj_, "iter_cfg");
	}
}

reader::~reader()
{
	bpf_link__destroy(static_cast<bpf_link *>(exec_link_));
	switch (kind_) {
	case verify: tld_verify__destroy(static_cast<tld_verify *>(skel_)); break;
	case probe: tldprobe__destroy(static_cast<tldprobe *>(skel_)); break;
	case probe_exact: tldprobe_cs__destroy(static_cast<tldprobe_cs *>(skel_)); break;
	case proto_v1: proto_v1__destroy(static_cast<::proto_v1 *>(skel_)); break;
	case proto_b: proto_b__destroy(static_cast<::proto_b *>(skel_)); break;
	}
}

reading reader::read(const std::vector<spec> &tlds, std::uint32_t flags) const
{
	if (is_probe(kind_)) {
		auto req = make_req<probe_req>(tlds, flags);
		run_request(req_map_fd_, read_prog_fd_, *req);
		return probe_reading(*req, tlds.size());
	}
	auto req = make_req<tld_verify_req>(tlds, flags);
	run_request(req_map_fd_, read_prog_fd_, *req);
	return to_reading(*req, tlds.size());
}

std::vector<reading> reader::read_process(pid_t pid, const std::vector<spec> &tlds,
					  std::uint32_t flags) const
{
	if (!is_probe(kind_))
		throw std::logic_error("only the probe readers have a task iterator");
	auto cfg = make_req<probe_req>(tlds, flags);
	__u32 zero = 0;
	if (bpf_map_update_elem(cfg_map_fd_, &zero, cfg.get(), BPF_ANY))
		throw std::runtime_error(std::string("iterator request: ") + std::strerror(errno));
	const std::vector<std::uint8_t> buf =
		iterate_tasks(static_cast<bpf_program *>(iter_prog_), pid);
	const std::size_t rec = tlds.empty() ? PROBE_HEAD_BYTES : sizeof(probe_req);
	if (buf.size() % rec)
		throw std::runtime_error("iterator output of " + std::to_string(buf.size()) +
					 " bytes is not whole records");
	std::vector<reading> out;
	auto r = std::make_unique<probe_req>();
	for (std::size_t at = 0; at < buf.size(); at += rec) {
		std::memset(r.get(), 0, sizeof(*r));
		std::memcpy(r.get(), buf.data() + at, rec);
		out.push_back(probe_reading(*r, tlds.size()));
	}
	return out;
}

std::vector<pid_t> reader::threads_with_element(pid_t pid) const
{
	std::vector<pid_t> out;
	for (const auto &r : read_process(pid))
		if (r.has_elem)
			out.push_back(r.tid);
	return out;
}

void reader::attach_exec()
{
	bpf_program *prog = bpf_object__find_program_by_name(obj_, "tld_exec");
	if (!prog)
		throw std::logic_error("this reader has no program tld_exec");
	if (exec_link_)
		return;
	bpf_link *link = bpf_program__attach(prog);
	if (!link)
		throw std::runtime_error(std::string("attaching tld_exec: ") + std::strerror(errno));
	exec_link_ = link;
}

std::vector<std::uint8_t> iterate_tasks(bpf_program *prog, pid_t pid)
{
	union bpf_iter_link_info linfo;
	std::memset(&linfo, 0, sizeof(linfo));
	linfo.task.pid = static_cast<__u32>(pid);
	LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &linfo,
		    .link_info_len = sizeof(linfo));
	std::unique_ptr<bpf_link, int (*)(bpf_link *)> link(bpf_program__attach_iter(prog, &opts),
							     bpf_link__destroy);
	if (!link)
		throw std::runtime_error(std::string("attaching the task iterator: ") +
					 std::strerror(errno));
	const int fd = bpf_iter_create(bpf_link__fd(link.get()));
	if (fd < 0)
		throw std::runtime_error(std::string("bpf_iter_create: ") + std::strerror(errno));
	std::vector<std::uint8_t> buf;
	std::vector<std::uint8_t> chunk(1 << 16);
	for (;;) {
		const ssize_t n = ::read(fd, chunk.data(), chunk.size());
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			const int e = errno;
			close(fd);
			throw std::runtime_error(std::string("reading the iterator: ") + std::strerror(e));
		}
		if (n == 0)
			break;
		buf.insert(buf.end(), chunk.begin(), chunk.begin() + n);
	}
	close(fd);
	return buf;
}

odd_maps::odd_maps()
{
	auto *s = odd_maps__open_and_load();
	if (!s)
		load_failed("odd_maps");
	skel_ = s;
}

odd_maps::~odd_maps() { odd_maps__destroy(static_cast<::odd_maps *>(skel_)); }

#define ODD(field) static_cast<::odd_maps *>(skel_)->field
int odd_maps::variant_c() const { return bpf_map__fd(ODD(maps.variant_c)); }
int odd_maps::no_uptr16() const { return bpf_map__fd(ODD(maps.no_uptr16)); }
int odd_maps::no_uptr24() const { return bpf_map__fd(ODD(maps.no_uptr24)); }
int odd_maps::array16() const { return bpf_map__fd(ODD(maps.array16)); }
int odd_maps::hash16() const { return bpf_map__fd(ODD(maps.hash16)); }
int odd_maps::prog() const { return bpf_program__fd(ODD(progs.touch)); }
int odd_maps::shaped(const char *name) const
{
	return bpf_object__find_map_fd_by_name(ODD(obj), name);
}
int odd_maps::btf() const { return bpf_object__btf_fd(ODD(obj)); }
#undef ODD

pin::pin(int fd, const std::string &name)
	: path("/sys/fs/bpf/tld-test-" + name + "-" + std::to_string(getpid()))
{
	struct statfs sf;
	if (statfs("/sys/fs/bpf", &sf) != 0 || sf.f_type != BPF_FS_MAGIC)
		mount("bpf", "/sys/fs/bpf", "bpf", 0, nullptr);
	unlink(path.c_str());
	if (bpf_obj_pin(fd, path.c_str()))
		throw std::runtime_error("pinning " + path + ": " + std::strerror(errno));
}

pin::~pin() { unlink(path.c_str()); }

removed_dir::~removed_dir()
{
	for (const auto &f : files)
		unlink(f.c_str());
	rmdir(dir.c_str());
}

void pin::set(mode_t mode, uid_t uid, gid_t gid) const
{
	if (chown(path.c_str(), uid, gid) || chmod(path.c_str(), mode))
		throw std::runtime_error("chmod/chown " + path + ": " + std::strerror(errno));
}

pid_t gettid_() { return static_cast<pid_t>(syscall(SYS_gettid)); }

int thread_pidfd(pid_t tid)
{
	return tld::open_thread_pidfd(tid);
}

bool has_element(int map_fd, pid_t tid)
{
	int pidfd = thread_pidfd(tid ? tid : gettid_());
	if (pidfd < 0)
		throw std::runtime_error(std::string("pidfd_open: ") + std::strerror(-pidfd));
	unsigned char value[64];
	int err = bpf_map_lookup_elem(map_fd, &pidfd, value);
	int saved = errno;
	close(pidfd);
	if (err && saved != ENOENT)
		throw std::runtime_error(std::string("lookup: ") + std::strerror(saved));
	return err == 0;
}

int count_fds()
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int n = 0;
	while (dirent *e = readdir(d))
		if (e->d_name[0] != '.')
			++n;
	closedir(d);
	return n - 1;	// the directory's own descriptor
}

void hold_reserve()
{
	reader r(reader::probe);
	if (tld_map_register(r.data_map_fd()) || tld_map_unregister(r.data_map_fd()))
		throw std::runtime_error("registering a map for the reserve failed");
}

long rss_kib()
{
	FILE *f = std::fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	long size = 0, rss = 0;
	int n = std::fscanf(f, "%ld %ld", &size, &rss);
	std::fclose(f);
	if (n != 2)
		return -1;
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

void require_bpf()
{
	try {
		reader r(reader::verify);
	} catch (const std::exception &e) {
		skip_or_fail(std::string("BPF test cannot run here: ") + e.what());
	}
}

} // namespace tldtest
