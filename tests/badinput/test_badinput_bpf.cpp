// Bad input that needs BPF objects: descriptors of maps of the wrong type or
// layout (tests/lib/odd_maps.bpf.c), of programs and BTF, pinned objects that
// are not task local data maps, closed and reused descriptors, too many maps.
// Every function answers a documented errno, writes nothing to a refused map
// and leaks no descriptor.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "bpftest.hpp"
#include "tld/tld.h"

TEST_CASE("descriptors of maps of the wrong type or layout and of other BPF objects are refused and nothing is written")
{
	tldtest::odd_maps o;
	tld_key_t k = tld_create_key("bad.key", 8);
	REQUIRE(k.off == 0);
	REQUIRE(tld_thread_init() == 0);
	tldtest::reader iter_owner;
	struct named {
		const char *what;
		int fd;
		bool is_map;
	};
	const std::vector<named> fds = {
		{"task storage map of variant C (metadata at 64)", o.variant_c(), true},
		{"task storage map, 16 bytes, no UPTR", o.no_uptr16(), true},
		{"task storage map, 24 bytes, no UPTR", o.no_uptr24(), true},
		{"array map", o.array16(), true},
		{"hash map", o.hash16(), true},
		{"a BPF program", o.prog(), false},
		{"a BTF object", o.btf(), false},
	};
	tldtest::hold_reserve();
	const int fds0 = tldtest::count_fds();
	for (const auto &m : fds) {
		INFO(m.what);
		REQUIRE(m.fd >= 0);
		errno = 0;
		CHECK(tld_map_register(m.fd) == -EINVAL);
		CHECK(errno == EINVAL);
		CHECK(tld_map_unregister(m.fd) == (m.is_map ? -ENOENT : -EINVAL));
		errno = 0;
		CHECK(tld_get_data(m.fd, k) == nullptr);
		CHECK(errno == EINVAL);
		// Through a pin, too (BTF cannot be pinned): the descriptor
		// tld_map_open opened is closed again.
		if (std::string(m.what) != "a BTF object") {
			tldtest::pin p(m.fd, "odd");
			errno = 0;
			CHECK(tld_map_open(p.path.c_str()) == -EINVAL);
			CHECK(errno == EINVAL);
		}
	}
	for (int fd : {o.variant_c(), o.no_uptr16(),
		       o.no_uptr24()})
		CHECK_FALSE(tldtest::has_element(fd));
	CHECK(tldtest::count_fds() == fds0);
	// The thread's data is untouched and a good map still registers.
	CHECK(tld_data(k) != nullptr);
	CHECK(tld_map_register(iter_owner.data_map_fd()) == 0);
	CHECK(tldtest::has_element(iter_owner.data_map_fd()));
}

TEST_CASE("a registration outlives the caller's closed descriptor and a reused descriptor number is checked again")
{
	tldtest::reader obj;
	tldtest::odd_maps o;
	tld_key_t k = tld_create_key("bad.key", 8);
	REQUIRE(k.off == 0);
	int dup = fcntl(obj.data_map_fd(), F_DUPFD_CLOEXEC, 3);
	REQUIRE(dup >= 0);
	auto *p = static_cast<std::uint64_t *>(tld_get_data(dup, k));
	REQUIRE(p != nullptr);
	*p = 0x1234;
	close(dup);
	// The library holds its own reference: BPF still reads the thread.
	auto rd = obj.read({{"bad.key", 8}});
	CHECK(rd.items[0].found == 1);
	CHECK(rd.items[0].value == tldtest::bytes_of(std::uint64_t{0x1234}));
	CHECK(tld_map_unregister(dup) == -EBADF);
	// A descriptor of another kind that gets the same number is a new fd to
	// the library as soon as the registration is gone.
	REQUIRE(tld_map_unregister(obj.data_map_fd()) == 0);
	int again = dup3(o.array16(), dup, O_CLOEXEC);
	REQUIRE(again == dup);
	errno = 0;
	CHECK(tld_get_data(again, k) == nullptr);
	CHECK(errno == EINVAL);
	close(again);
	CHECK(tld_data(k) == p);
	CHECK(*p == 0x1234);
}

TEST_CASE("more than TLD_MAPS_MAX maps is -ENOSPC and the same map through another descriptor is one map registered twice")
{
	tld_key_t k = tld_create_key("bad.key", 8);
	REQUIRE(k.off == 0);
	REQUIRE(tld_thread_init() == 0);
	std::vector<std::unique_ptr<tldtest::reader>> objs;
	for (int i = 0; i <= TLD_MAPS_MAX; ++i)
		objs.push_back(std::make_unique<tldtest::reader>());
	tldtest::hold_reserve();
	const int fds0 = tldtest::count_fds();
	for (int i = 0; i < TLD_MAPS_MAX; ++i)
		REQUIRE(tld_map_register(objs[static_cast<std::size_t>(i)]->data_map_fd()) == 0);
	errno = 0;
	CHECK(tld_map_register(objs[TLD_MAPS_MAX]->data_map_fd()) == -ENOSPC);
	CHECK(errno == ENOSPC);
	errno = 0;
	CHECK(tld_get_data(objs[TLD_MAPS_MAX]->data_map_fd(), k) == nullptr);
	CHECK(errno == ENOSPC);
	CHECK_FALSE(tldtest::has_element(objs[TLD_MAPS_MAX]->data_map_fd()));
	// The same map through a second descriptor: the same map (one
	// descriptor held for it), a second registration of it.
	int dup = fcntl(objs[0]->data_map_fd(), F_DUPFD_CLOEXEC, 3);
	REQUIRE(dup >= 0);
	CHECK(tld_map_register(dup) == 0);
	CHECK(tld_get_data(dup, k) != nullptr);
	close(dup);
	CHECK(tldtest::count_fds() == fds0 + TLD_MAPS_MAX);	// one reference per map
	CHECK(tld_map_unregister(objs[0]->data_map_fd()) == 0);	// the second one
	for (int i = 0; i < TLD_MAPS_MAX; ++i) {
		CHECK(tldtest::has_element(objs[static_cast<std::size_t>(i)]->data_map_fd()));
		CHECK(tld_map_unregister(objs[static_cast<std::size_t>(i)]->data_map_fd()) == 0);
		CHECK(tld_map_unregister(objs[static_cast<std::size_t>(i)]->data_map_fd()) == -ENOENT);
		CHECK_FALSE(tldtest::has_element(objs[static_cast<std::size_t>(i)]->data_map_fd()));
	}
	CHECK(tldtest::count_fds() == fds0);
	CHECK(tld_map_register(objs[TLD_MAPS_MAX]->data_map_fd()) == 0);
}

TEST_CASE("tld_map_open of bpffs paths that are not task local data maps fails and leaks nothing")
{
	tldtest::odd_maps o;
	tldtest::hold_reserve();
	const int fds0 = tldtest::count_fds();
	std::string dir = "/sys/fs/bpf/tld-bad-dir-" + std::to_string(getpid());
	REQUIRE(mkdir(dir.c_str(), 0700) == 0);
	tldtest::removed_dir cleanup{dir, {}};
	errno = 0;
	int r = tld_map_open(dir.c_str());
	INFO("a bpffs directory: " << r);
	CHECK(r < 0);
	CHECK(errno == -r);
	CHECK(tld_map_open((dir + "/missing").c_str()) == -ENOENT);
	{
		tldtest::pin p(o.prog(), "prog");
		CHECK(tld_map_open(p.path.c_str()) == -EINVAL);
	}
	{
		tldtest::pin p(o.hash16(), "hash");
		CHECK(tld_map_open(p.path.c_str()) == -EINVAL);
	}
	CHECK(tldtest::count_fds() == fds0);
}
