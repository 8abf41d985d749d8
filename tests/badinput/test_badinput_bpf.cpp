// Bad input that needs BPF objects: descriptors of maps of the wrong type or
// layout (tests/bpf/odd_maps.bpf.c), of programs and BTF, pinned objects that
// are not task local data maps, closed and reused descriptors, too many maps.
// Every function answers a documented errno, writes nothing to a refused map
// and leaks no descriptor.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "odd_maps.skel.h"
#include "probe.hpp"
#include "tld/tld.h"

namespace {

struct odd {
	odd_maps *s = odd_maps__open_and_load();
	~odd() { odd_maps__destroy(s); }
};

// A pin in bpffs that goes away with the test.
struct pin {
	std::string path;
	pin(int fd, const std::string &name)
		: path("/sys/fs/bpf/tld-bad-" + name + "-" + std::to_string(getpid()))
	{
		unlink(path.c_str());
		if (bpf_obj_pin(fd, path.c_str()))
			throw std::runtime_error("pinning " + path + " failed");
	}
	~pin() { unlink(path.c_str()); }
};

bool has_element(int map_fd)
{
	int pidfd = probe::thread_pidfd(probe::gettid_());
	unsigned char value[64];
	int err = bpf_map_lookup_elem(map_fd, &pidfd, value);
	close(pidfd);
	return err == 0;
}

} // namespace

TEST_CASE("descriptors of maps of the wrong type or layout and of other BPF objects are refused and nothing is written")
{
	odd o;
	REQUIRE(o.s != nullptr);
	tld_key_t k = tld_create_key("bad.key", 8);
	REQUIRE(k.off == 0);
	REQUIRE(tld_thread_init() == 0);
	probe::object iter_owner;
	struct named {
		const char *what;
		int fd;
		bool is_map;
	};
	const std::vector<named> fds = {
		{"task storage map of variant C (metadata at 64)", bpf_map__fd(o.s->maps.variant_c), true},
		{"task storage map, 16 bytes, no UPTR", bpf_map__fd(o.s->maps.no_uptr16), true},
		{"task storage map, 24 bytes, no UPTR", bpf_map__fd(o.s->maps.no_uptr24), true},
		{"array map", bpf_map__fd(o.s->maps.array16), true},
		{"hash map", bpf_map__fd(o.s->maps.hash16), true},
		{"a BPF program", bpf_program__fd(o.s->progs.touch), false},
		{"a BTF object", bpf_object__btf_fd(o.s->obj), false},
	};
	const int fds0 = probe::count_fds();
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
			pin p(m.fd, "odd");
			errno = 0;
			CHECK(tld_map_open(p.path.c_str()) == -EINVAL);
			CHECK(errno == EINVAL);
		}
	}
	for (int fd : {bpf_map__fd(o.s->maps.variant_c), bpf_map__fd(o.s->maps.no_uptr16),
		       bpf_map__fd(o.s->maps.no_uptr24)})
		CHECK_FALSE(has_element(fd));
	CHECK(probe::count_fds() == fds0);
	// The thread's data is untouched and a good map still registers.
	CHECK(tld_data(k) != nullptr);
	CHECK(tld_map_register(iter_owner.data_map_fd()) == 0);
	CHECK(has_element(iter_owner.data_map_fd()));
}

TEST_CASE("a registration outlives the caller's closed descriptor and a reused descriptor number is checked again")
{
	probe::object obj;
	odd o;
	REQUIRE(o.s != nullptr);
	tld_key_t k = tld_create_key("bad.key", 8);
	REQUIRE(k.off == 0);
	int dup = fcntl(obj.data_map_fd(), F_DUPFD_CLOEXEC, 3);
	REQUIRE(dup >= 0);
	auto *p = static_cast<std::uint64_t *>(tld_get_data(dup, k));
	REQUIRE(p != nullptr);
	*p = 0x1234;
	close(dup);
	// The library holds its own reference: BPF still reads the thread.
	auto rd = obj.read_self({{"bad.key", 8}});
	CHECK(rd.items[0].found == 1);
	CHECK(rd.items[0].value == probe::bytes_of(std::uint64_t{0x1234}));
	CHECK(tld_map_unregister(dup) == -EBADF);
	// A descriptor of another kind that gets the same number is a new fd to
	// the library as soon as the registration is gone.
	REQUIRE(tld_map_unregister(obj.data_map_fd()) == 0);
	int again = dup3(bpf_map__fd(o.s->maps.array16), dup, O_CLOEXEC);
	REQUIRE(again == dup);
	errno = 0;
	CHECK(tld_get_data(again, k) == nullptr);
	CHECK(errno == EINVAL);
	close(again);
	CHECK(tld_data(k) == p);
	CHECK(*p == 0x1234);
}

TEST_CASE("more than TLD_MAPS_MAX maps is -ENOSPC and the same map through another descriptor is registered once")
{
	tld_key_t k = tld_create_key("bad.key", 8);
	REQUIRE(k.off == 0);
	REQUIRE(tld_thread_init() == 0);
	std::vector<std::unique_ptr<probe::object>> objs;
	for (int i = 0; i <= TLD_MAPS_MAX; ++i)
		objs.push_back(std::make_unique<probe::object>());
	const int fds0 = probe::count_fds();
	for (int i = 0; i < TLD_MAPS_MAX; ++i)
		REQUIRE(tld_map_register(objs[static_cast<std::size_t>(i)]->data_map_fd()) == 0);
	errno = 0;
	CHECK(tld_map_register(objs[TLD_MAPS_MAX]->data_map_fd()) == -ENOSPC);
	CHECK(errno == ENOSPC);
	errno = 0;
	CHECK(tld_get_data(objs[TLD_MAPS_MAX]->data_map_fd(), k) == nullptr);
	CHECK(errno == ENOSPC);
	CHECK_FALSE(has_element(objs[TLD_MAPS_MAX]->data_map_fd()));
	// The same map through a second descriptor: already registered.
	int dup = fcntl(objs[0]->data_map_fd(), F_DUPFD_CLOEXEC, 3);
	REQUIRE(dup >= 0);
	CHECK(tld_map_register(dup) == 0);
	CHECK(tld_get_data(dup, k) != nullptr);
	close(dup);
	CHECK(probe::count_fds() == fds0 + TLD_MAPS_MAX);	// one reference per map
	for (int i = 0; i < TLD_MAPS_MAX; ++i) {
		CHECK(has_element(objs[static_cast<std::size_t>(i)]->data_map_fd()));
		CHECK(tld_map_unregister(objs[static_cast<std::size_t>(i)]->data_map_fd()) == 0);
		CHECK(tld_map_unregister(objs[static_cast<std::size_t>(i)]->data_map_fd()) == -ENOENT);
	}
	CHECK(probe::count_fds() == fds0);
	CHECK(tld_map_register(objs[TLD_MAPS_MAX]->data_map_fd()) == 0);
}

TEST_CASE("tld_map_open of bpffs paths that are not task local data maps fails and leaks nothing")
{
	odd o;
	REQUIRE(o.s != nullptr);
	const int fds0 = probe::count_fds();
	std::string dir = "/sys/fs/bpf/tld-bad-dir-" + std::to_string(getpid());
	REQUIRE(mkdir(dir.c_str(), 0700) == 0);
	struct rmdir_at_end {
		std::string d;
		~rmdir_at_end() { rmdir(d.c_str()); }
	} cleanup{dir};
	errno = 0;
	int r = tld_map_open(dir.c_str());
	INFO("a bpffs directory: " << r);
	CHECK(r < 0);
	CHECK(errno == -r);
	CHECK(tld_map_open((dir + "/missing").c_str()) == -ENOENT);
	{
		pin p(bpf_program__fd(o.s->progs.touch), "prog");
		CHECK(tld_map_open(p.path.c_str()) == -EINVAL);
	}
	{
		pin p(bpf_map__fd(o.s->maps.hash16), "hash");
		CHECK(tld_map_open(p.path.c_str()) == -EINVAL);
	}
	CHECK(probe::count_fds() == fds0);
}
