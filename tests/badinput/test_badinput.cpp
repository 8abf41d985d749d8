// Bad input to every public function that needs no BPF map: NULL, empty and
// over-long names, names at the end of a mapping, sizes at the edges, keys
// that were never created.  Each answers the errno <tld/tld.h> documents and
// nothing crashes.  Each TEST_CASE runs in a process of its own.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "threads.hpp"
#include "tld/tld.h"

namespace {

std::size_t page() { return static_cast<std::size_t>(sysconf(_SC_PAGESIZE)); }

int open_fds()
{
	int n = 0;
	for (int fd = 0; fd < 4096; ++fd)
		if (fcntl(fd, F_GETFD) >= 0)
			++n;
	return n;
}

// A key's value and errno after a call, as text for messages.
struct outcome {
	int off;
	int err;
};

outcome create(const char *name, std::size_t size)
{
	errno = 0;
	tld_key_t k = tld_create_key(name, size);
	return {k.off, errno};
}

outcome find(const char *name, std::size_t size)
{
	errno = 0;
	tld_key_t k = tld_find_key(name, size);
	return {k.off, errno};
}

// tld_map_register (setting errno) and tld_map_unregister refuse the
// descriptor `fd` with -err, and tld_get_data(fd, k) returns NULL with errno
// err.
void check_refused_fd(int fd, tld_key_t k, int err)
{
	errno = 0;
	CHECK(tld_map_register(fd) == -err);
	CHECK(errno == err);
	CHECK(tld_map_unregister(fd) == -err);
	errno = 0;
	CHECK(tld_get_data(fd, k) == nullptr);
	CHECK(errno == err);
}

} // namespace

TEST_CASE("key functions refuse NULL and empty and over-long names with -EINVAL and set errno")
{
	const std::string n61(61, 'a'), n62(62, 'b'), n63(63, 'c'), n4k(4096, 'd');
	for (const char *name : {static_cast<const char *>(nullptr), "", n62.c_str(), n63.c_str(),
				 n4k.c_str()}) {
		INFO("name of " << (name ? std::strlen(name) : 0) << " bytes" << (name ? "" : " (NULL)"));
		auto c = create(name, 8);
		CHECK(c.off == -EINVAL);
		CHECK(c.err == EINVAL);
		auto f = find(name, 8);
		CHECK(f.off == -EINVAL);
		CHECK(f.err == EINVAL);
	}
	CHECK(create(n61.c_str(), 8).off >= 0);
	CHECK(find(n61.c_str(), 8).off >= 0);
	// Refused names published nothing.
	CHECK(find(n62.substr(0, 61).c_str(), 8).off == -ENOENT);
}

TEST_CASE("a name not terminated within 62 bytes at the end of a mapping is refused without reading past it")
{
	const std::size_t ps = page();
	void *m = mmap(nullptr, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(m != MAP_FAILED);
	char *base = static_cast<char *>(m);
	REQUIRE(mprotect(base + ps, ps, PROT_NONE) == 0);	// reading past the page faults
	for (std::size_t len : {62u, 63u, 100u}) {
		char *name = base + ps - len;
		std::memset(name, 'x', len);
		INFO(len << " bytes up to the unmapped page, no NUL");
		CHECK(create(name, 8).off == -EINVAL);
		CHECK(find(name, 8).off == -EINVAL);
	}
	// 61 bytes and the NUL as the page's last byte: a valid name.
	char *name = base + ps - 62;
	std::memset(name, 'y', 61);
	name[61] = '\0';
	CHECK(create(name, 8).off >= 0);
	CHECK(find(name, 8).off >= 0);
	munmap(m, 2 * ps);
}

TEST_CASE("names with embedded NUL or any other byte are taken up to the first NUL")
{
	static const char embedded[] = "emb\0edded";
	auto c = create(embedded, 4);
	REQUIRE(c.off >= 0);
	CHECK(find("emb", 4).off == c.off);
	CHECK(find("emb\0other", 4).off == c.off);
	CHECK(create("emb\0other", 4).off == -EEXIST);
	CHECK(find("emb\0edded", 8).off == -EINVAL);	// published with another size
	// Every byte value but NUL is part of a name.
	std::string all;
	for (int b = 1; b < 256 && all.size() < 61; b += 5)
		all += static_cast<char>(b);
	auto h = create(all.c_str(), 2);
	CHECK(h.off >= 0);
	CHECK(find(all.c_str(), 2).off == h.off);
	// Names that differ only in their last byte are different TLDs.
	std::string x(61, 'z'), y(61, 'z');
	y[60] = 'Z';
	auto cx = create(x.c_str(), 8), cy = create(y.c_str(), 8);
	CHECK(cx.off >= 0);
	CHECK(cy.off >= 0);
	CHECK(cx.off != cy.off);
}

TEST_CASE("sizes 0 and 1 and page-8 and page and beyond answer EINVAL or a key or E2BIG")
{
	const std::size_t ps = page();
	CHECK(create("size.zero", 0).off == -EINVAL);
	CHECK(find("size.zero", 0).off == -EINVAL);
	for (std::size_t s : {ps, ps + 1, std::size_t{65535}, std::size_t{65536},
			      std::size_t{1} << 32, SIZE_MAX, SIZE_MAX - 6}) {
		INFO("size " << s);
		auto c = create("size.big", s);
		CHECK(c.off == -E2BIG);
		CHECK(c.err == E2BIG);
	}
	// With the default 64-byte reserve a whole data area does not fit.
	CHECK(create("size.page_minus_8", ps - 8).off == -E2BIG);
	REQUIRE(tld_set_dyn_data_size(0) == 0);
	auto one = create("size.one", 1);
	REQUIRE(one.off == 0);
	// What is left after the 8 bytes the 1-byte key takes.
	auto rest = create("size.rest", ps - 16);
	REQUIRE(rest.off == 8);
	CHECK(create("size.more", 1).off == -E2BIG);
	CHECK(find("size.rest", ps - 16).off == 8);
	CHECK(find("size.rest", ps - 8).off == -EINVAL);
	CHECK(find("size.rest", SIZE_MAX).off == -EINVAL);
	// The block is exactly one page: the last key ends at its last byte.
	auto *p1 = static_cast<char *>(tld_data(tld_key_t{static_cast<std::int16_t>(one.off)}));
	auto *pr = static_cast<char *>(tld_data(tld_key_t{static_cast<std::int16_t>(rest.off)}));
	REQUIRE(p1 != nullptr);
	REQUIRE(pr != nullptr);
	auto page_start = reinterpret_cast<std::uintptr_t>(p1) & ~(ps - 1);
	CHECK(reinterpret_cast<std::uintptr_t>(p1) == page_start + 8);
	CHECK(reinterpret_cast<std::uintptr_t>(pr) + (ps - 16) == page_start + ps);
	std::memset(pr, 0xa5, ps - 16);
	*p1 = 1;
	CHECK(static_cast<unsigned char>(pr[ps - 17]) == 0xa5);
	CHECK(*p1 == 1);
	// The layout is fixed now, and no reserve is left.
	CHECK(create("size.late", 1).off == -E2BIG);
}

TEST_CASE("keys never created or made of garbage are refused by tld_data and tld_get_data")
{
	tld_key_t real = tld_create_key("garbage.real", 8);
	REQUIRE(real.off == 0);
	auto check_refused = [&](bool with_block) {
		std::mt19937 rng(42);
		std::vector<int> offs = {1, 7, 8, 16, 24, 63, 64, 4080, 4087, 4088, 4096, 8192, 32767,
					 -1, -2, -EINVAL, -4095, -4096, -32768};
		for (int i = 0; i < 2000; ++i)
			offs.push_back(static_cast<std::int16_t>(rng()));
		for (int off : offs) {
			if (off == real.off)
				continue;
			tld_key_t k{static_cast<std::int16_t>(off)};
			INFO("key " << off << (with_block ? " after" : " before") << " the block");
			errno = 0;
			CHECK(tld_data(k) == nullptr);
			CHECK(errno == (off < 0 ? -off : EINVAL));
			errno = 0;
			CHECK(tld_get_data(-1, k) == nullptr);
			CHECK(errno == (off < 0 ? -off : EINVAL));
		}
	};
	check_refused(false);
	CHECK(tld_data(real) != nullptr);
	check_refused(true);
	CHECK(tld_data(real) != nullptr);
}

TEST_CASE("tld_set_dyn_data_size answers 0 or E2BIG or EBUSY for any size")
{
	const std::size_t ps = page();
	for (std::size_t s : {ps, ps + 8, std::size_t{65536}, SIZE_MAX, SIZE_MAX - 7}) {
		INFO("size " << s);
		errno = 0;
		CHECK(tld_set_dyn_data_size(s) == -E2BIG);
		CHECK(errno == E2BIG);
	}
	CHECK(tld_set_dyn_data_size(0) == 0);
	CHECK(tld_set_dyn_data_size(1) == 0);
	CHECK(tld_set_dyn_data_size(ps - 8) == 0);
	CHECK(tld_create_key("dyn.big", 8).off == -E2BIG);	// no room left beside the reserve
	CHECK(tld_set_dyn_data_size(ps - 16) == 0);
	REQUIRE(tld_create_key("dyn.key", 8).off == 0);
	CHECK(tld_set_dyn_data_size(ps - 8) == -E2BIG);	// with the key it no longer fits
	CHECK(tld_set_dyn_data_size(64) == 0);
	REQUIRE(tld_thread_init() == 0);
	CHECK(tld_set_dyn_data_size(64) == -EBUSY);
	CHECK(tld_set_dyn_data_size(SIZE_MAX) == -E2BIG);
}

TEST_CASE("map functions refuse NULL paths and bad and closed descriptors and files that are not maps")
{
	tld_key_t k = tld_create_key("maps.key", 8);
	REQUIRE(k.off == 0);
	const int fds0 = open_fds();
	std::vector<int> closed;
	for (int i = 0; i < 3; ++i) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		REQUIRE(fd >= 0);
		closed.push_back(fd);
	}
	for (int fd : closed)
		close(fd);
	for (int fd : std::vector<int>{-1, -2, -100, INT_MIN, INT_MAX, 1 << 20, closed[0], closed[1],
					closed[2]}) {
		INFO("descriptor " << fd);
		check_refused_fd(fd, k, EBADF);
	}
	// Open files of every kind that are not BPF maps.
	std::vector<std::pair<std::string, int>> files;
	int p[2];
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	files.push_back({"pipe read end", p[0]});
	files.push_back({"pipe write end", p[1]});
	files.push_back({"/dev/null", open("/dev/null", O_RDWR | O_CLOEXEC)});
	files.push_back({"a directory", open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)});
	files.push_back({"an O_PATH descriptor", open("/proc/self", O_PATH | O_CLOEXEC)});
	files.push_back({"a socket", socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)});
	files.push_back({"an eventfd", eventfd(0, EFD_CLOEXEC)});
	files.push_back({"a memfd", memfd_create("tld-test", MFD_CLOEXEC)});
	files.push_back({"a regular file", open("/proc/self/status", O_RDONLY | O_CLOEXEC)});
	for (auto &[what, fd] : files) {
		INFO(what);
		REQUIRE(fd >= 0);
		check_refused_fd(fd, k, EINVAL);
	}
	for (auto &f : files)
		close(f.second);
	// Paths: NULL and empty are -EINVAL; others are what opening them says.
	CHECK(tld_map_open(nullptr) == -EINVAL);
	CHECK(tld_map_open("") == -EINVAL);
	const std::string too_long(PATH_MAX + 10, 'p');
	const std::set<int> open_errors = {-ENOENT, -EACCES, -EPERM, -EINVAL, -ENOTDIR,
					   -ENAMETOOLONG, -ELOOP};
	for (const char *path : {"/", "/etc/passwd", "/dev/null", "/proc/self/status",
				 "/no/such/path", "/sys/fs/bpf/no-such-pin", too_long.c_str()}) {
		INFO("tld_map_open(\"" << std::string(path).substr(0, 40) << "\")");
		errno = 0;
		int r = tld_map_open(path);
		INFO("returned " << r);
		CHECK(r < 0);
		CHECK(open_errors.count(r) == 1);
		CHECK(errno == -r);
	}
	CHECK(tld_map_open("/no/such/path") == -ENOENT);
	CHECK(tld_map_open(too_long.c_str()) == -ENAMETOOLONG);
	// None of it leaked a descriptor or broke the thread's data.
	CHECK(open_fds() == fds0);
	auto *v = static_cast<std::uint64_t *>(tld_data(k));
	REQUIRE(v != nullptr);
	*v = 7;
	CHECK(*static_cast<std::uint64_t *>(tld_data(k)) == 7);
}

TEST_CASE("tld_free and tld_thread_init in any order and any number of times keep the thread working")
{
	tld_key_t k = tld_create_key("order.key", 8);
	REQUIRE(k.off == 0);
	tld_free();
	tld_free();
	CHECK(tld_thread_init() == 0);
	CHECK(tld_thread_init() == 0);
	auto *p = static_cast<std::uint64_t *>(tld_data(k));
	REQUIRE(p != nullptr);
	*p = 5;
	tld_free();
	tld_free();
	auto *q = static_cast<std::uint64_t *>(tld_data(k));
	REQUIRE(q != nullptr);
	CHECK(*q == 0);
	CHECK(tld_thread_init() == 0);
	REQUIRE_NO_FAILURES(tldtest::on_threads(8, [&](int i) -> std::string {
		for (int r = 0; r < 200; ++r) {
			if ((r + i) % 3 == 0)
				tld_free();
			if ((r + i) % 5 == 0 && tld_thread_init() != 0)
				return "tld_thread_init() failed";
			auto *x = static_cast<std::uint64_t *>(tld_data(k));
			if (!x)
				return "tld_data() failed";
			*x = static_cast<std::uint64_t>(r);
			if (*static_cast<std::uint64_t *>(tld_data(k)) != static_cast<std::uint64_t>(r))
				return "value lost";
		}
		return {};
	}));
}
