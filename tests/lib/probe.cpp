#include "probe.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "tldprobe.skel.h"
#include "tldprobe_cs.skel.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

namespace probe {

object::object(bool check_size) : check_size_(check_size)
{
	if (check_size) {
		auto *s = tldprobe_cs__open_and_load();
		if (!s)
			throw std::runtime_error(std::string("loading tldprobe_cs: ") + std::strerror(errno));
		skel_ = s;
		obj_ = s->obj;
		iter_prog_ = s->progs.probe_iter;
		read_prog_fd_ = bpf_program__fd(s->progs.probe_read);
	} else {
		auto *s = tldprobe__open_and_load();
		if (!s)
			throw std::runtime_error(std::string("loading tldprobe: ") + std::strerror(errno));
		skel_ = s;
		obj_ = s->obj;
		iter_prog_ = s->progs.probe_iter;
		read_prog_fd_ = bpf_program__fd(s->progs.probe_read);
	}
	data_map_fd_ = bpf_object__find_map_fd_by_name(obj_, "tld_data_map");
	req_map_fd_ = bpf_object__find_map_fd_by_name(obj_, "probe_reqs");
	cfg_map_fd_ = bpf_object__find_map_fd_by_name(obj_, "iter_cfg");
}

object::~object()
{
	if (check_size_)
		tldprobe_cs__destroy(static_cast<tldprobe_cs *>(skel_));
	else
		tldprobe__destroy(static_cast<tldprobe *>(skel_));
}

namespace {

std::unique_ptr<probe_req> make_req(const std::vector<spec> &tlds, std::uint32_t flags)
{
	if (tlds.size() > PROBE_ITEMS)
		throw std::invalid_argument("too many TLDs for one request");
	auto req = std::make_unique<probe_req>();
	std::memset(req.get(), 0, sizeof(*req));
	req->count = static_cast<__u32>(tlds.size());
	req->flags = flags;
	for (std::size_t i = 0; i < tlds.size(); ++i) {
		std::memcpy(req->item[i].name, tlds[i].name.data(),
			    std::min<std::size_t>(tlds[i].name.size(), PROBE_NAME_LEN));
		req->item[i].size = static_cast<__u32>(tlds[i].size);
	}
	return req;
}

reading to_reading(const probe_req &r, std::size_t n)
{
	reading out;
	out.err = r.err;
	out.tid = static_cast<pid_t>(r.tid);
	out.tgid = static_cast<pid_t>(r.tgid);
	out.has_elem = r.has_elem != 0;
	for (std::size_t i = 0; i < n && i < PROBE_ITEMS; ++i) {
		item s;
		s.found = r.item[i].found;
		s.page_off = r.item[i].page_off;
		if (s.found == 1)
			s.value.assign(r.item[i].value,
				       r.item[i].value + std::min<std::size_t>(r.item[i].size,
									       PROBE_VALUE_MAX));
		out.items.push_back(std::move(s));
	}
	return out;
}

} // namespace

reading object::read_self(const std::vector<spec> &tlds, std::uint32_t flags) const
{
	auto req = make_req(tlds, flags);
	__u32 tid = static_cast<__u32>(gettid_());
	if (bpf_map_update_elem(req_map_fd_, &tid, req.get(), BPF_ANY))
		throw std::runtime_error(std::string("probe request: ") + std::strerror(errno));
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int err = bpf_prog_test_run_opts(read_prog_fd_, &opts);
	if (err || opts.retval) {
		bpf_map_delete_elem(req_map_fd_, &tid);
		throw std::runtime_error("running probe_read failed: " + std::to_string(err) +
					 " retval " + std::to_string(opts.retval));
	}
	if (bpf_map_lookup_elem(req_map_fd_, &tid, req.get()))
		throw std::runtime_error(std::string("probe reading back: ") + std::strerror(errno));
	bpf_map_delete_elem(req_map_fd_, &tid);
	return to_reading(*req, tlds.size());
}

std::vector<reading> object::read_process(pid_t pid, const std::vector<spec> &tlds,
					  std::uint32_t flags) const
{
	auto cfg = make_req(tlds, flags);
	__u32 zero = 0;
	if (bpf_map_update_elem(cfg_map_fd_, &zero, cfg.get(), BPF_ANY))
		throw std::runtime_error(std::string("iterator request: ") + std::strerror(errno));
	union bpf_iter_link_info linfo;
	std::memset(&linfo, 0, sizeof(linfo));
	linfo.task.pid = static_cast<__u32>(pid);
	LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &linfo,
		    .link_info_len = sizeof(linfo));
	bpf_link *link = bpf_program__attach_iter(static_cast<bpf_program *>(iter_prog_), &opts);
	if (!link)
		throw std::runtime_error(std::string("attaching the task iterator: ") +
					 std::strerror(errno));
	int fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		int e = errno;
		bpf_link__destroy(link);
		throw std::runtime_error(std::string("bpf_iter_create: ") + std::strerror(e));
	}
	std::vector<std::uint8_t> buf;
	std::vector<std::uint8_t> chunk(1 << 16);
	for (;;) {
		ssize_t n = read(fd, chunk.data(), chunk.size());
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			bpf_link__destroy(link);
			throw std::runtime_error(std::string("reading the iterator: ") + std::strerror(e));
		}
		if (n == 0)
			break;
		buf.insert(buf.end(), chunk.begin(), chunk.begin() + n);
	}
	close(fd);
	bpf_link__destroy(link);
	const std::size_t rec = tlds.empty() ? PROBE_HEAD_BYTES : sizeof(probe_req);
	if (buf.size() % rec)
		throw std::runtime_error("iterator output of " + std::to_string(buf.size()) +
					 " bytes is not whole records");
	std::vector<reading> out;
	auto r = std::make_unique<probe_req>();
	for (std::size_t at = 0; at < buf.size(); at += rec) {
		std::memset(r.get(), 0, sizeof(*r));
		std::memcpy(r.get(), buf.data() + at, rec);
		out.push_back(to_reading(*r, tlds.size()));
	}
	return out;
}

std::vector<pid_t> object::threads_with_element(pid_t pid) const
{
	std::vector<pid_t> out;
	for (const auto &r : read_process(pid))
		if (r.has_elem)
			out.push_back(r.tid);
	return out;
}

pid_t gettid_() { return static_cast<pid_t>(syscall(SYS_gettid)); }

int thread_pidfd(pid_t tid)
{
	int fd = static_cast<int>(syscall(SYS_pidfd_open, tid, PIDFD_THREAD));
	return fd < 0 ? -errno : fd;
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

void cannot_run(const std::string &why)
{
	const char *ci = std::getenv("CI");
	bool in_ci = ci && *ci && std::strcmp(ci, "false") != 0 && std::strcmp(ci, "0") != 0;
	std::fprintf(stderr, "BPF test cannot run here: %s (%s)\n", why.c_str(),
		     in_ci ? "CI is set: failing" : "skipping");
	std::fflush(stderr);
	_exit(in_ci ? 1 : 77);
}

void require_bpf()
{
	try {
		object o;
	} catch (const std::exception &e) {
		cannot_run(e.what());
	}
}

} // namespace probe
