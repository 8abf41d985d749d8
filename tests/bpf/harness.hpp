// Test harness for the BPF suite: loads the verification program and the
// independent protocol readers, and runs them for the calling thread.
#pragma once

#include <linux/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tld_verify.h"

namespace harness {

struct tld_spec {
	std::string name;
	std::size_t size;
};

struct seen {
	int found = 0;			// 1 found, 0 not found, -1 two lookups disagreed
	std::uint32_t page_off = 0;
	std::vector<std::uint8_t> value;
};

struct reading {
	int err = 0;			// the reader's tld_object_init() (or equivalent)
	std::vector<seen> items;
};

// One loaded BPF object that answers requests in the tld_verify.h format.
class reader {
public:
	enum kind { verify, proto_v1, proto_b };
	explicit reader(kind k);
	~reader();
	reader(const reader &) = delete;
	reader &operator=(const reader &) = delete;

	// The task storage map the reader reads TLDs from.
	int data_map_fd() const { return data_map_fd_; }
	// Read `tlds` of the calling thread through BPF.
	reading read(const std::vector<tld_spec> &tlds,
		     std::uint32_t flags = TLD_VERIFY_RESET_CACHE | TLD_VERIFY_TWICE) const;

private:
	void *skel_ = nullptr;
	kind kind_;
	int data_map_fd_ = -1;
	int req_map_fd_ = -1;
	int prog_fd_ = -1;
};

// The maps of tests/bpf/odd_maps.bpf.c: layouts libtld must refuse.
class odd_maps {
public:
	odd_maps();
	~odd_maps();
	odd_maps(const odd_maps &) = delete;
	odd_maps &operator=(const odd_maps &) = delete;
	int variant_c() const;
	int no_uptr16() const;
	int no_uptr24() const;
	int array16() const;
	int hash16() const;
	int prog() const;

private:
	void *skel_;
};

// The bytes of a value as a vector, for comparisons.
template <typename T> std::vector<std::uint8_t> bytes_of(const T &v)
{
	auto p = reinterpret_cast<const std::uint8_t *>(&v);
	return {p, p + sizeof(T)};
}

std::vector<std::uint8_t> bytes_at(const void *p, std::size_t n);

// pidfd of the calling thread (PIDFD_THREAD), or -errno.
int self_pidfd();

// True when the calling thread has an element in the task storage map.
bool has_element(int map_fd);

} // namespace harness
