// A hostile or broken writer: this test writes task local data pages itself
// (mmap, bypassing libtld), corrupts the metadata on purpose, registers the
// pages with bpf_map_update_elem() and reads them with the probe object
// (tests/lib/probe.bpf.c), a reader built on <tld/tld.bpf.h>, with and
// without TLD_CHECK_SIZE.  Whatever the metadata says, BPF must answer what a
// bounded reader of the protocol answers: the first slot of that name, at
// its offset, only if it lies inside the page; never another slot's bytes.
#include <bpf/bpf.h>
#include <linux/types.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "bpftest.hpp"

extern "C" {
#include "tld/tld_layout.h"
}

namespace {

constexpr std::size_t page = 4096;	// what the BPF side assumes

std::uint8_t pattern(std::size_t off) { return static_cast<std::uint8_t>(off * 131 + 17); }

// The writer's two pages, registered for the calling thread in both readers.
struct writer {
	tld_meta_u *meta;
	tld_data_u *data;
	writer()
	{
		void *m = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		void *d = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED || d == MAP_FAILED)
			throw std::runtime_error("mmap");
		meta = static_cast<tld_meta_u *>(m);
		data = static_cast<tld_data_u *>(d);
		reset(8);
	}
	~writer()
	{
		munmap(meta, page);
		munmap(data, page);
	}
	void reset(std::uint64_t start)
	{
		std::memset(meta, 0, page);
		auto *b = reinterpret_cast<std::uint8_t *>(data);
		for (std::size_t o = 0; o < page; ++o)
			b[o] = pattern(o);
		data->start = start;
	}
	// Slot i: `name` as raw bytes (up to 62, NUL-padded), `size`.
	void slot(int i, const std::string &name, std::uint16_t size)
	{
		std::memset(meta->metadata[i].name, 0, TLD_LAYOUT_NAME_LEN);
		std::memcpy(meta->metadata[i].name, name.data(),
			    std::min<std::size_t>(name.size(), TLD_LAYOUT_NAME_LEN));
		meta->metadata[i].size = size;
	}
	void publish(int map_fd, bool with_meta = true, bool with_data = true) const
	{
		struct {
			__u64 data, meta;
		} v = {with_data ? reinterpret_cast<__u64>(data) : 0,
		       with_meta ? reinterpret_cast<__u64>(meta) : 0};
		int pidfd = tldtest::thread_pidfd(tldtest::gettid_());
		if (pidfd < 0)
			throw std::runtime_error("pidfd_open");
		int err = bpf_map_update_elem(map_fd, &pidfd, &v, BPF_ANY);
		int e = errno;
		close(pidfd);
		if (err)
			throw std::runtime_error(std::string("update: ") + std::strerror(e));
	}
};

// The answer of a bounded reader of the protocol (docs/PROTOCOL.md, "Reading",
// and the contract of <tld/tld.bpf.h>): the page offset of `name`, or nothing.
std::optional<std::size_t> expected(const writer &w, const std::string &name, std::size_t size,
				    bool check_size)
{
	const std::uint64_t start = w.data->start;
	if (start < 8 || start >= page)
		return std::nullopt;
	unsigned cnt = w.meta->cnt & 0xff;
	if (cnt > TLD_LAYOUT_SLOTS)
		cnt = TLD_LAYOUT_SLOTS;
	// A name as a slot holds it: bytes up to and including the NUL, at most 62.
	std::size_t cmp = std::min<std::size_t>(name.size() + 1, TLD_LAYOUT_NAME_LEN);
	std::string want = name + '\0';
	std::size_t off = 0;
	for (unsigned i = 0; i < cnt; ++i) {
		const auto &s = w.meta->metadata[i];
		if (!s.size)
			return std::nullopt;
		if (std::memcmp(s.name, want.data(), cmp) == 0) {
			// Exact size with TLD_CHECK_SIZE; otherwise at least the
			// bytes asked for, never a read into the next slot.
			if (check_size ? s.size != size : s.size < size)
				return std::nullopt;
			if (start + off + size > page)
				return std::nullopt;
			return start + off;
		}
		off += TLD_LAYOUT_ROUND(s.size);
		if (off >= page)
			return std::nullopt;
	}
	return std::nullopt;
}

struct readers {
	tldtest::reader plain{tldtest::reader::probe};
	tldtest::reader check_size{tldtest::reader::probe_exact};
};

// Read `queries` through both readers and compare with the bounded reader.
std::vector<std::string> check(const readers &r, const writer &w,
			       const std::vector<tldtest::spec> &queries, const std::string &what)
{
	std::vector<std::string> out;
	for (const tldtest::reader *o : {&r.plain, &r.check_size}) {
		const bool cs = o == &r.check_size;
		w.publish(o->data_map_fd());
		auto rd = o->read(queries);
		if (rd.err) {
			out.push_back(what + ": tld_object_init() = " + std::to_string(rd.err));
			continue;
		}
		for (std::size_t i = 0; i < queries.size(); ++i) {
			const auto &q = queries[i];
			const auto &it = rd.items[i];
			auto want = expected(w, q.name, q.size, cs);
			std::string where = what + (cs ? " (TLD_CHECK_SIZE)" : "") + ", \"" +
					    q.name.substr(0, 20) + "\"/" + std::to_string(q.size);
			if (it.found == -1) {
				out.push_back(where + ": two lookups disagreed");
				continue;
			}
			if (!want) {
				if (it.found)
					out.push_back(where + ": found at " + std::to_string(it.page_off) +
						      ", expected not found");
				continue;
			}
			if (!it.found) {
				out.push_back(where + ": not found, expected at " + std::to_string(*want));
				continue;
			}
			if (it.page_off != *want)
				out.push_back(where + ": found at " + std::to_string(it.page_off) +
					      ", expected at " + std::to_string(*want));
			if (it.page_off < 8 || it.page_off + q.size > page)
				out.push_back(where + ": offset outside the page");
			for (std::size_t j = 0; j < q.size && j < it.value.size(); ++j)
				if (it.value[j] != pattern(it.page_off + j)) {
					out.push_back(where + ": bytes differ from the page");
					break;
				}
		}
	}
	return out;
}

#define CHECK_CLEAN(v)                                                         \
	do {                                                                   \
		auto _f = (v);                                                 \
		INFO((_f.empty() ? std::string() : _f.front()) << " (" << _f.size() << " problems)"); \
		CHECK(_f.empty());                                             \
	} while (0)

std::string sname(int i) { return "slot." + std::to_string(i); }

} // namespace

TEST_CASE("a well-formed page written without libtld is read in full")
{
	readers r;
	writer w;
	std::vector<tldtest::spec> q;
	for (int i = 0; i < TLD_LAYOUT_SLOTS; ++i) {
		w.slot(i, sname(i), static_cast<std::uint16_t>(1 + i % 60));
		q.push_back({sname(i), static_cast<std::size_t>(1 + i % 60)});
	}
	w.meta->cnt = TLD_LAYOUT_SLOTS;
	auto f = check(r, w, q, "63 slots");
	CHECK_CLEAN(f);
	// The model agrees that all of them are there.
	for (const auto &s : q)
		CHECK(expected(w, s.name, s.size, true).has_value());
}

TEST_CASE("a count above 63 is bounded to the 63 slots and only its low byte counts")
{
	readers r;
	writer w;
	std::vector<tldtest::spec> q;
	for (int i = 0; i < TLD_LAYOUT_SLOTS; ++i) {
		w.slot(i, sname(i), 8);
		q.push_back({sname(i), 8});
	}
	// Bytes past the 63 slots (the rest of the page) look like a 64th slot.
	auto *past = reinterpret_cast<char *>(&w.meta->metadata[TLD_LAYOUT_SLOTS]);
	std::memcpy(past, "slot.63", 8);
	for (unsigned cnt : {64u, 100u, 200u, 255u, 256u, 0x13fu, 0xffffu}) {
		w.meta->cnt = static_cast<__u16>(cnt);
		CHECK_CLEAN(check(r, w, q, "cnt " + std::to_string(cnt)));
		CHECK_CLEAN(check(r, w, {{"slot.63", 8}, {"slot.0", 8}}, "cnt " + std::to_string(cnt)));
	}
	// A large count with few published slots: the walk stops at the first
	// unpublished one.
	w.reset(8);
	w.slot(0, "a", 8);
	w.slot(1, "b", 8);
	w.slot(2, "c", 0);
	w.slot(3, "d", 8);
	w.meta->cnt = 200;
	CHECK_CLEAN(check(r, w, {{"a", 8}, {"b", 8}, {"c", 8}, {"d", 8}}, "cnt 200, 2 published"));
}

TEST_CASE("sizes of 0 and 65535 and larger than the page stop the walk or the TLD inside the page")
{
	readers r;
	writer w;
	const std::vector<tldtest::spec> q = {{"a", 8}, {"b", 8}, {"c", 8}, {"b", 64}};
	for (std::uint16_t bad : {std::uint16_t{0}, std::uint16_t{1}, std::uint16_t{4080},
				  std::uint16_t{4089}, std::uint16_t{4096}, std::uint16_t{65535}}) {
		w.reset(8);
		w.slot(0, "a", 8);
		w.slot(1, "b", bad);
		w.slot(2, "c", 8);
		w.meta->cnt = 3;
		CHECK_CLEAN(check(r, w, q, "slot 1 of size " + std::to_string(bad)));
	}
	// 63 slots of 4000 bytes: only the first fits.
	w.reset(8);
	std::vector<tldtest::spec> big;
	for (int i = 0; i < TLD_LAYOUT_SLOTS; ++i) {
		w.slot(i, sname(i), 4000);
		big.push_back({sname(i), 8});
	}
	w.meta->cnt = TLD_LAYOUT_SLOTS;
	CHECK_CLEAN(check(r, w, big, "63 slots of 4000 bytes"));
}

TEST_CASE("names without NUL and names that share a prefix never match another slot")
{
	readers r;
	writer w;
	const std::string n62(62, 'n'), n61(61, 'n');
	std::string p62 = std::string(61, 'p') + "A", q62 = std::string(61, 'p') + "B";
	w.slot(0, n62, 8);			// 62 bytes, no NUL
	w.slot(1, std::string("abc\0garbage", 11), 8);	// bytes after the NUL
	w.slot(2, "prefix12_A", 8);
	w.slot(3, "prefix12_B", 4);
	w.slot(4, p62, 8);
	w.slot(5, q62, 8);
	w.slot(6, "dup", 8);
	w.slot(7, "x", 16);
	w.slot(8, "dup", 8);
	w.meta->cnt = 9;
	const std::vector<tldtest::spec> q = {
		{n62, 8}, {n61, 8}, {"nnnn", 8}, {n62 + "more", 8},
		{"abc", 8}, {"abc\0garbage", 8}, {"ab", 8}, {"abcd", 8},
		{"prefix12_A", 8}, {"prefix12_B", 4}, {"prefix12_C", 8}, {"prefix12", 8},
		{p62, 8}, {q62, 8}, {std::string(61, 'p') + "C", 8},
		{"dup", 8}, {"x", 16}, {"", 8},
	};
	CHECK_CLEAN(check(r, w, q, "names"));
}

TEST_CASE("a start outside the page or below the header finds nothing")
{
	readers r;
	writer w;
	const std::vector<tldtest::spec> q = {{"a", 8}, {"b", 8}};
	for (std::uint64_t start : {std::uint64_t{0}, std::uint64_t{7}, std::uint64_t{4088},
				    std::uint64_t{4090}, std::uint64_t{4095}, std::uint64_t{4096},
				    std::uint64_t{65536}, std::uint64_t{1} << 63, ~std::uint64_t{0}}) {
		w.reset(start);
		w.slot(0, "a", 8);
		w.slot(1, "b", 8);
		w.meta->cnt = 2;
		CHECK_CLEAN(check(r, w, q, "start " + std::to_string(start)));
	}
}

TEST_CASE("an element without metadata or data page finds nothing")
{
	readers r;
	writer w;
	w.slot(0, "a", 8);
	w.meta->cnt = 1;
	for (auto [with_meta, with_data] : {std::pair{false, true}, std::pair{true, false},
					    std::pair{false, false}}) {
		for (const tldtest::reader *o : {&r.plain, &r.check_size}) {
			w.publish(o->data_map_fd(), with_meta, with_data);
			auto rd = o->read({{"a", 8}});
			INFO("meta " << with_meta << " data " << with_data);
			CHECK(rd.has_elem);
			CHECK(rd.items[0].found == 0);
		}
	}
}

TEST_CASE("random corrupt metadata pages are read as a bounded reader of the protocol reads them")
{
	readers r;
	writer w;
	std::mt19937 rng(20261125);
	const char alphabet[] = "ab.";
	auto rand_name = [&](std::size_t max) {
		std::string s;
		std::size_t len = 1 + rng() % max;
		for (std::size_t i = 0; i < len; ++i)
			s += alphabet[rng() % 3];
		return s;
	};
	std::vector<std::string> problems;
	for (int round = 0; round < 150 && problems.size() < 5; ++round) {
		static const std::uint64_t starts[] = {8, 8, 8, 0, 16, 4000, 4088, 4096, 1u << 20};
		w.reset(starts[rng() % 9]);
		const int slots = static_cast<int>(rng() % 64);
		for (int i = 0; i < slots; ++i) {
			std::uint16_t size;
			switch (rng() % 8) {
			case 0: size = 0; break;
			case 1: size = 65535; break;
			case 2: size = static_cast<std::uint16_t>(rng()); break;
			default: size = static_cast<std::uint16_t>(1 + rng() % 64);
			}
			std::string name = rng() % 10 ? rand_name(4) : rand_name(70);
			if (rng() % 10 == 0)
				name += std::string("\0zz", 3);
			w.slot(i, name, size);
		}
		w.meta->cnt = static_cast<__u16>(rng() % 4 ? slots : rng());
		std::vector<tldtest::spec> q;
		for (int i = 0; i < 20; ++i)
			q.push_back({rand_name(4), static_cast<std::size_t>(1 + rng() % 64)});
		for (auto &p : check(r, w, q, "round " + std::to_string(round)))
			problems.push_back(p);
	}
	CHECK_CLEAN(problems);
}
