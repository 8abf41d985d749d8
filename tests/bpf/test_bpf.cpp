// What BPF programs read of libtld's data on a live kernel.  Each TEST_CASE
// runs in a process of its own (see meson.build): keys are per process.
#include <bpf/bpf.h>
#include <pthread.h>
#include <unistd.h>

#include <barrier>
#include <catch2/catch_test_macros.hpp>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bpftest.hpp"
#include "child.hpp"
#include "threads.hpp"
#include "tld/tld.h"
#include "tld/tld.hpp"
#include "tld_verify.skel.h"

using tldtest::bytes_of;
using tldtest::reader;
using tldtest::spec;
using tldtest::on_threads;

namespace {

struct blob {
	std::uint64_t a, b, c;
};

TLD_DEFINE_KEY(k_flag, "test.flag", 1);
TLD_DEFINE_KEY(k_prio, "test.priority", sizeof(std::uint32_t));
TLD_DEFINE_KEY(k_req, "test.request_id", sizeof(std::uint64_t));
TLD_DEFINE_KEY(k_blob, "test.a_rather_long_name_for_a_blob_of_bytes", sizeof(blob));

const std::vector<spec> defined_tlds = {
	{"test.flag", 1},
	{"test.priority", sizeof(std::uint32_t)},
	{"test.request_id", sizeof(std::uint64_t)},
	{"test.a_rather_long_name_for_a_blob_of_bytes", sizeof(blob)},
};

// Values that differ per thread and per round.
struct values {
	std::uint8_t flag;
	std::uint32_t prio;
	std::uint64_t req;
	blob b;
	values(int thread, int round)
		: flag(static_cast<std::uint8_t>(thread * 7 + round + 1)),
		  prio(0x10000u * static_cast<unsigned>(thread) + static_cast<unsigned>(round)),
		  req(0xabcdef0000000000ull | (std::uint64_t(thread) << 16) | unsigned(round)),
		  b{req ^ 1, req ^ 2, req ^ 3}
	{
	}
};

// Write through pointers from tld_get_data() (or tld_data() with fd -1).
// Throws std::runtime_error: it runs on threads where Catch2 cannot assert.
void write_values(int map_fd, const values &v)
{
	auto get = [&](tld_key_t k) {
		void *p = map_fd >= 0 ? tld_get_data(map_fd, k) : tld_data(k);
		if (!p)
			throw std::runtime_error(std::string("TLD lookup failed: ") +
						 std::strerror(errno));
		return p;
	};
	*static_cast<std::uint8_t *>(get(k_flag)) = v.flag;
	*static_cast<std::uint32_t *>(get(k_prio)) = v.prio;
	*static_cast<std::uint64_t *>(get(k_req)) = v.req;
	*static_cast<blob *>(get(k_blob)) = v.b;
}

// Compare what a reader saw with what was written; returns a failure text.
std::string mismatch(const tldtest::reading &r, const values &v)
{
	if (r.err)
		return "reader init failed: " + std::to_string(r.err);
	const std::vector<std::vector<std::uint8_t>> want = {
		bytes_of(v.flag), bytes_of(v.prio), bytes_of(v.req), bytes_of(v.b)};
	for (std::size_t i = 0; i < want.size(); ++i) {
		if (r.items[i].found != 1)
			return defined_tlds[i].name + ": found=" + std::to_string(r.items[i].found);
		if (r.items[i].value != want[i])
			return defined_tlds[i].name + ": value differs";
	}
	return {};
}

// tld_map_register of the map of each of `readers`, which must succeed.
void register_maps(std::initializer_list<const reader *> readers)
{
	for (const reader *r : readers)
		REQUIRE(tld_map_register(r->data_map_fd()) == 0);
}

} // namespace

TEST_CASE("BPF reads what each of 32 threads wrote twice in the default configuration")
{
	reader verify(reader::verify);
	reader v1(reader::proto_v1);
	REQUIRE(tld_map_register(v1.data_map_fd()) == 0);
	const int n = 32;
	std::barrier sync(n);
	REQUIRE_NO_FAILURES(on_threads(n, [&](int t) -> std::string {
		for (int round = 0; round < 2; ++round) {
			values v(t, round);
			write_values(verify.data_map_fd(), v);
			sync.arrive_and_wait();
			// Round 0 searches names; round 1 uses the cached offsets.
			auto flags = round == 0 ? tldtest::reset_cache | tldtest::twice
						: tldtest::twice;
			if (auto m = mismatch(verify.read(defined_tlds, flags), v); !m.empty())
				return "tld.bpf.h reader, round " + std::to_string(round) + ": " + m;
			if (auto m = mismatch(v1.read(defined_tlds), v); !m.empty())
				return "v1 protocol reader, round " + std::to_string(round) + ": " + m;
			sync.arrive_and_wait();
		}
		return {};
	}));
}

TEST_CASE("a key created after threads hold blocks is read by BPF from every thread")
{
	reader verify(reader::verify), v1(reader::proto_v1);
	register_maps({&verify, &v1});
	const int n = 8;
	std::barrier sync(n + 1);
	tld_key_t late{-1};
	std::vector<std::string> failures;
	auto threads = std::thread([&] {
		failures = on_threads(n, [&](int t) -> std::string {
			write_values(-1, values(t, 0));
			// Prime the BPF key cache with "not found" before the key exists.
			auto before = verify.read({{"late.counter", 8}}, tldtest::reset_cache);
			if (before.items[0].found != 0)
				return "late.counter found before it was created";
			sync.arrive_and_wait();	// blocks exist
			sync.arrive_and_wait();	// the key was created
			auto *p = static_cast<std::uint64_t *>(tld_data(late));
			if (!p)
				return "tld_data(late) failed";
			*p = 0x1234500 + t;
			auto r = verify.read({{"late.counter", 8}}, 0);
			if (r.items[0].found != 1 || r.items[0].value != bytes_of(*p))
				return "tld.bpf.h reader missed the late key";
			auto r1 = v1.read({{"late.counter", 8}});
			if (r1.items[0].found != 1 || r1.items[0].value != bytes_of(*p))
				return "v1 reader missed the late key";
			return {};
		});
	});
	sync.arrive_and_wait();
	late = tld_create_key("late.counter", 8);
	sync.arrive_and_wait();
	threads.join();
	INFO("tld_create_key: " << late.off);
	CHECK(!tld_key_is_err(late));
	REQUIRE_NO_FAILURES(failures);
}

TEST_CASE("a map registered after threads started is filled with every live thread")
{
	reader verify(reader::verify);
	const int n = 8;
	std::barrier sync(n + 1);
	std::vector<std::string> failures;
	auto threads = std::thread([&] {
		failures = on_threads(n, [&](int t) -> std::string {
			values v(t, 3);
			write_values(-1, v);	// no map yet
			sync.arrive_and_wait();
			sync.arrive_and_wait();	// registered now
			return mismatch(verify.read(defined_tlds), v);
		});
	});
	sync.arrive_and_wait();
	int err = tld_map_register(verify.data_map_fd());
	sync.arrive_and_wait();
	threads.join();
	REQUIRE(err == 0);
	REQUIRE_NO_FAILURES(failures);
	// Threads started after the registration are added on their first lookup.
	REQUIRE_NO_FAILURES(on_threads(4, [&](int t) -> std::string {
		values v(t, 4);
		write_values(-1, v);
		return mismatch(verify.read(defined_tlds), v);
	}));
}

TEST_CASE("a version 1 map and a variant B map are served at once each to its own reader")
{
	reader v1(reader::proto_v1), b(reader::proto_b);
	register_maps({&v1, &b});
	REQUIRE_NO_FAILURES(on_threads(8, [&](int t) -> std::string {
		values v(t, 5);
		write_values(-1, v);
		if (auto m = mismatch(v1.read(defined_tlds), v); !m.empty())
			return "v1: " + m;
		if (auto m = mismatch(b.read(defined_tlds), v); !m.empty())
			return "variant B: " + m;
		return {};
	}));
}

TEST_CASE("a forked child registers its own copy and BPF reads the child's value")
{
	reader verify(reader::verify), v1(reader::proto_v1);
	register_maps({&verify, &v1});
	values parent(0, 6);
	write_values(-1, parent);
	// Other threads hold blocks while the process forks.
	std::barrier sync(3);
	auto holder = [&](int t) {
		try {
			write_values(-1, values(t, 6));
		} catch (...) {
		}
		sync.arrive_and_wait();
		sync.arrive_and_wait();
	};
	std::thread a(holder, 1);
	std::thread c(holder, 2);
	sync.arrive_and_wait();
	void *before = tld_data(k_req);
	const int st = tldtest::in_child([&] {
		int rc = 0;
		if (tld_data(k_req) != before)
			rc |= 1;	// the block moved
		auto r = verify.read(defined_tlds);
		if (!mismatch(r, parent).empty())
			rc |= 2;	// the inherited values are not visible
		values child(9, 6);
		write_values(-1, child);
		if (!mismatch(verify.read(defined_tlds), child).empty())
			rc |= 4;
		if (!mismatch(v1.read(defined_tlds), child).empty())
			rc |= 8;
		return rc;
	});
	sync.arrive_and_wait();
	a.join();
	c.join();
	INFO("child failures (bits: 1 moved, 2 inherited, 4 tld.bpf.h, 8 v1): " << st);
	CHECK(st == 0);
	// The parent's own element still holds the parent's page.
	CHECK(mismatch(verify.read(defined_tlds), parent).empty());
}

TEST_CASE("after tld_map_unregister BPF finds no element for any thread")
{
	reader verify(reader::verify);
	REQUIRE(tld_map_register(verify.data_map_fd()) == 0);
	values v(0, 7);
	write_values(-1, v);
	REQUIRE(mismatch(verify.read(defined_tlds), v).empty());
	std::barrier sync(2);
	int other_before = -1, other_after = -1;
	std::thread other([&] {
		write_values(-1, values(1, 7));
		other_before = tldtest::has_element(verify.data_map_fd());
		sync.arrive_and_wait();
		sync.arrive_and_wait();
		other_after = tldtest::has_element(verify.data_map_fd());
	});
	sync.arrive_and_wait();
	int first = tld_map_unregister(verify.data_map_fd());
	int second = tld_map_unregister(verify.data_map_fd());
	sync.arrive_and_wait();
	other.join();
	REQUIRE(first == 0);
	CHECK(second == -ENOENT);
	CHECK(other_before == 1);
	CHECK(other_after == 0);
	CHECK(verify.read(defined_tlds).err == -ENODATA);	// from tld_object_init()
	CHECK_FALSE(tldtest::has_element(verify.data_map_fd()));
	// Local data keeps working without the map.
	REQUIRE(tld_data(k_req) != nullptr);
	CHECK(*static_cast<std::uint64_t *>(tld_data(k_req)) == v.req);
	// Registering again adds the thread back.
	REQUIRE(tld_map_register(verify.data_map_fd()) == 0);
	CHECK(mismatch(verify.read(defined_tlds), v).empty());
}

TEST_CASE("tld_free deletes the element and the next lookup takes a fresh registered block")
{
	reader verify(reader::verify);
	int fd = verify.data_map_fd();
	values v(0, 8);
	write_values(fd, v);
	REQUIRE(mismatch(verify.read(defined_tlds), v).empty());
	tld_free();
	CHECK_FALSE(tldtest::has_element(fd));
	CHECK(verify.read(defined_tlds).err == -ENODATA);
	auto *p = static_cast<std::uint64_t *>(tld_get_data(fd, k_req));
	REQUIRE(p != nullptr);
	CHECK(*p == 0);	// a fresh block is zero-filled
	values w(0, 9);
	write_values(fd, w);
	CHECK(mismatch(verify.read(defined_tlds), w).empty());
}

TEST_CASE("a thread's element is gone before its page is reused")
{
	reader verify(reader::verify);
	REQUIRE(tld_map_register(verify.data_map_fd()) == 0);
	// A pthread key made after libtld's runs its destructor after libtld's.
	static int map_fd;
	static int gone;
	map_fd = verify.data_map_fd();
	gone = -1;
	write_values(-1, values(0, 10));	// libtld's key exists now
	pthread_key_t late_key;
	REQUIRE(pthread_key_create(&late_key, [](void *) {
			gone = tldtest::has_element(map_fd) ? 0 : 1;
		}) == 0);
	void *first_page = nullptr;
	int registered = -1;
	std::thread t([&] {
		write_values(-1, values(1, 10));
		registered = tldtest::has_element(map_fd);
		first_page = tld_data(k_flag);
		pthread_setspecific(late_key, &late_key);
	});
	t.join();
	CHECK(registered == 1);
	CHECK(gone == 1);
	// The next thread gets the page back from the pool, registered afresh.
	void *second_page = nullptr;
	std::string seen;
	std::thread u([&] {
		values v(2, 10);
		write_values(-1, v);
		second_page = tld_data(k_flag);
		seen = mismatch(verify.read(defined_tlds), v);
	});
	u.join();
	CHECK(second_page == first_page);
	INFO(seen);
	CHECK(seen.empty());
	pthread_key_delete(late_key);
}

TEST_CASE("maps of other layouts and other types are refused before any write")
{
	reader verify(reader::verify);
	tldtest::odd_maps odd;
	write_values(-1, values(0, 11));
	struct named {
		const char *what;
		int fd;
	};
	for (auto m : {named{"variant C (metadata at 64)", odd.variant_c()},
		       named{"task storage, 16 bytes, no UPTR", odd.no_uptr16()},
		       named{"task storage, 24 bytes, no UPTR", odd.no_uptr24()},
		       named{"array map", odd.array16()}, named{"hash map", odd.hash16()},
		       named{"a BPF program fd", odd.prog()}}) {
		INFO(m.what);
		CHECK(tld_map_register(m.fd) == -EINVAL);
		errno = 0;
		CHECK(tld_get_data(m.fd, k_req) == nullptr);
		CHECK(errno == EINVAL);
	}
	for (int fd : {odd.variant_c(), odd.no_uptr16(), odd.no_uptr24()})
		CHECK_FALSE(tldtest::has_element(fd));
	// The thread's data still works, and good maps still register.
	CHECK(tld_data(k_req) != nullptr);
	CHECK(tld_map_register(verify.data_map_fd()) == 0);
	CHECK(tldtest::has_element(verify.data_map_fd()));
}

TEST_CASE("TLD_MAP and tld_map_open register a pinned map")
{
	reader verify(reader::verify);
	tldtest::pin pinned(verify.data_map_fd(), "env");
	const std::string &pin = pinned.path;

	// A fresh process that never used libtld: the variable is read at first use.
	int st = tldtest::in_child([&] {
		setenv("TLD_MAP", pin.c_str(), 1);
		values v(0, 12);
		write_values(-1, v);
		int rc = mismatch(verify.read(defined_tlds), v).empty() ? 0 : 1;
		if (tld_thread_init() != 0)
			rc |= 2;
		return rc;
	});
	INFO("child exit status (bits: 1 BPF read, 2 tld_thread_init): " << st);
	CHECK(st == 0);

	// A path that does not exist is reported by tld_thread_init().
	st = tldtest::in_child([] {
		setenv("TLD_MAP", "/sys/fs/bpf/tld-test-no-such-pin", 1);
		return tld_thread_init() == -ENOENT && tld_data(k_req) ? 0 : 1;
	});
	CHECK(st == 0);

	int fd = tld_map_open(pin.c_str());
	REQUIRE(fd >= 0);
	close(fd);	// the registration holds its own reference
	values v(1, 12);
	write_values(-1, v);
	CHECK(mismatch(verify.read(defined_tlds), v).empty());
	CHECK(tld_map_open("/sys/fs/bpf/tld-test-no-such-pin") == -ENOENT);
}

TEST_CASE("a tld map object registers for its lifetime and follows moves")
{
	reader verify(reader::verify);
	values v(0, 13);
	write_values(-1, v);
	{
		tld::map m(verify.data_map_fd());
		CHECK(tldtest::has_element(verify.data_map_fd()));
		CHECK(mismatch(verify.read(defined_tlds), v).empty());
		tld::map moved(std::move(m));
		CHECK(m.fd() == -1);
		CHECK(moved.fd() >= 0);
		CHECK(tldtest::has_element(verify.data_map_fd()));
	}
	CHECK_FALSE(tldtest::has_element(verify.data_map_fd()));
	CHECK(verify.read(defined_tlds).err == -ENODATA);

	// From a pinned path, with a typed key and a scoped value read by BPF.
	tldtest::pin pinned(verify.data_map_fd(), "cpp");
	const std::string &pin = pinned.path;
	auto m = tld::map::open(pin.c_str());
	auto req = tld::key<std::uint64_t>::adopt("test.request_id");
	{
		tld::scoped<std::uint64_t> s(req, 0x5151);
		auto r = verify.read({{"test.request_id", 8}});
		CHECK(r.items[0].value == bytes_of(std::uint64_t{0x5151}));
	}
	auto r = verify.read({{"test.request_id", 8}});
	CHECK(r.items[0].value == bytes_of(v.req));
}

TEST_CASE("an empty tld map object takes a registration by move and ends it when it is emptied")
{
	reader verify(reader::verify);
	values v(0, 14);
	write_values(-1, v);
	tld::map holder;
	CHECK(holder.empty());
	CHECK_FALSE(tldtest::has_element(verify.data_map_fd()));
	holder = tld::map(verify.data_map_fd());
	CHECK(holder);
	CHECK_FALSE(holder.empty());
	CHECK(tldtest::has_element(verify.data_map_fd()));
	CHECK(mismatch(verify.read(defined_tlds), v).empty());
	tld::map taken(std::move(holder));
	CHECK(holder.empty());
	CHECK(taken);
	CHECK(tldtest::has_element(verify.data_map_fd()));
	taken = tld::map();	// an empty object moved in ends the registration
	CHECK(taken.empty());
	CHECK_FALSE(tldtest::has_element(verify.data_map_fd()));
}

TEST_CASE("a thread with a pending cancellation takes its block without aborting the process")
{
	reader verify(reader::verify);
	REQUIRE(tld_map_register(verify.data_map_fd()) == 0);
	// The first lookup opens and closes a pidfd and updates the map; none
	// of it may act on the pending cancellation.
	auto c = tldtest::with_pending_cancel([] { return long{tld_data(k_req) != nullptr}; });
	CHECK(c.cancelled);
	CHECK(c.returned);
	CHECK(c.result == 1);
}

// The verification program (and so the committed skeleton tldctl uses) is
// built with TLD_STRICT_ALIGNMENT: it must load where the verifier demands
// aligned accesses, which BPF_F_STRICT_ALIGNMENT asks for on any machine.
TEST_CASE("the verification program loads with BPF_F_STRICT_ALIGNMENT")
{
	tld_verify *skel = tld_verify__open();
	REQUIRE(skel != nullptr);
	bpf_program *prog;
	int n = 0;
	bpf_object__for_each_program(prog, skel->obj) {
		REQUIRE(bpf_program__set_flags(prog, bpf_program__flags(prog) |
						   BPF_F_STRICT_ALIGNMENT) == 0);
		++n;
	}
	CHECK(n >= 1);
	const int err = tld_verify__load(skel);
	tld_verify__destroy(skel);
	CHECK(err == 0);
}
