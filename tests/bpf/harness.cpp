#include "harness.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "odd_maps.skel.h"
#include "proto_b.skel.h"
#include "proto_v1.skel.h"
#include "tld_verify.skel.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

namespace harness {

reader::reader(kind k) : kind_(k)
{
	switch (k) {
	case verify: {
		auto *s = tld_verify__open_and_load();
		if (!s)
			throw std::runtime_error(std::string("loading tld_verify: ") + std::strerror(errno));
		skel_ = s;
		data_map_fd_ = bpf_map__fd(s->maps.tld_data_map);
		req_map_fd_ = bpf_map__fd(s->maps.verify_reqs);
		prog_fd_ = bpf_program__fd(s->progs.tld_verify_read);
		break;
	}
	case proto_v1: {
		auto *s = proto_v1__open_and_load();
		if (!s)
			throw std::runtime_error(std::string("loading proto_v1: ") + std::strerror(errno));
		skel_ = s;
		data_map_fd_ = bpf_map__fd(s->maps.data_map);
		req_map_fd_ = bpf_map__fd(s->maps.reqs);
		prog_fd_ = bpf_program__fd(s->progs.proto_read);
		break;
	}
	case proto_b: {
		auto *s = proto_b__open_and_load();
		if (!s)
			throw std::runtime_error(std::string("loading proto_b: ") + std::strerror(errno));
		skel_ = s;
		data_map_fd_ = bpf_map__fd(s->maps.data_map);
		req_map_fd_ = bpf_map__fd(s->maps.reqs);
		prog_fd_ = bpf_program__fd(s->progs.proto_read);
		break;
	}
	}
}

reader::~reader()
{
	switch (kind_) {
	case verify: tld_verify__destroy(static_cast<tld_verify *>(skel_)); break;
	case proto_v1: proto_v1__destroy(static_cast<::proto_v1 *>(skel_)); break;
	case proto_b: proto_b__destroy(static_cast<::proto_b *>(skel_)); break;
	}
}

reading reader::read(const std::vector<tld_spec> &tlds, std::uint32_t flags) const
{
	if (tlds.size() > TLD_VERIFY_ITEMS)
		throw std::invalid_argument("too many TLDs for one request");
	auto req = std::make_unique<tld_verify_req>();
	std::memset(req.get(), 0, sizeof(*req));
	req->count = static_cast<__u32>(tlds.size());
	req->flags = flags;
	for (std::size_t i = 0; i < tlds.size(); ++i) {
		std::strncpy(req->item[i].name, tlds[i].name.c_str(), TLD_VERIFY_NAME_LEN - 1);
		req->item[i].size = static_cast<__u32>(tlds[i].size);
	}
	__u32 tid = static_cast<__u32>(syscall(SYS_gettid));
	if (bpf_map_update_elem(req_map_fd_, &tid, req.get(), BPF_ANY))
		throw std::runtime_error(std::string("request: ") + std::strerror(errno));
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int err = bpf_prog_test_run_opts(prog_fd_, &opts);
	if (err || opts.retval) {
		bpf_map_delete_elem(req_map_fd_, &tid);
		throw std::runtime_error("running the reader failed: " + std::to_string(err) +
					 " retval " + std::to_string(opts.retval));
	}
	if (bpf_map_lookup_elem(req_map_fd_, &tid, req.get()))
		throw std::runtime_error(std::string("reading back: ") + std::strerror(errno));
	bpf_map_delete_elem(req_map_fd_, &tid);

	reading r;
	r.err = req->err;
	for (std::size_t i = 0; i < tlds.size(); ++i) {
		seen s;
		s.found = req->item[i].found;
		s.page_off = req->item[i].page_off;
		if (s.found == 1)
			s.value.assign(req->item[i].value, req->item[i].value + tlds[i].size);
		r.items.push_back(std::move(s));
	}
	return r;
}

odd_maps::odd_maps()
{
	auto *s = odd_maps__open_and_load();
	if (!s)
		throw std::runtime_error(std::string("loading odd_maps: ") + std::strerror(errno));
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
#undef ODD

std::vector<std::uint8_t> bytes_at(const void *p, std::size_t n)
{
	auto b = static_cast<const std::uint8_t *>(p);
	return {b, b + n};
}

int self_pidfd()
{
	int fd = static_cast<int>(syscall(SYS_pidfd_open, syscall(SYS_gettid), PIDFD_THREAD));
	return fd < 0 ? -errno : fd;
}

bool has_element(int map_fd)
{
	int pidfd = self_pidfd();
	if (pidfd < 0)
		throw std::runtime_error("pidfd_open failed");
	unsigned char value[64];
	int err = bpf_map_lookup_elem(map_fd, &pidfd, value);
	int saved = errno;
	close(pidfd);
	if (err && saved != ENOENT)
		throw std::runtime_error(std::string("lookup: ") + std::strerror(saved));
	return err == 0;
}

} // namespace harness
