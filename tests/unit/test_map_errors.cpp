// Map API argument errors that need no BPF privileges, and that none of them
// disturbs tld_data().
#include <catch2/catch_test_macros.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <initializer_list>
#include <thread>
#include <utility>

#include "unit_catch.hpp"

using tldtest::err_name;

namespace {

// call(arg), for each arg of `args` (named as the second of each pair), with
// errno cleared, returns -err and sets errno to err.
template <typename Arg>
void require_refused(int (*call)(Arg), const char *fn, int err,
		     std::initializer_list<std::pair<Arg, const char *>> args)
{
	for (const auto &[arg, name] : args) {
		errno = 0;
		const int r = call(arg);
		const int e = errno;
		INFO(fn << "(" << name << ") returned " << r << " (" << err_name(r) << "), errno "
			<< err_name(e) << ", expected -" << err_name(err));
		CHECK(r == -err);
		CHECK(e == err);
	}
}

struct pipe_fds {
	int fd[2] = {-1, -1};
	pipe_fds() { REQUIRE(pipe(fd) == 0); }
	~pipe_fds()
	{
		close(fd[0]);
		close(fd[1]);
	}
};

// /dev/null opened with `flags`, closed at the end of the scope.
struct dev_null {
	int fd;
	explicit dev_null(int flags) : fd(open("/dev/null", flags)) { REQUIRE(fd >= 0); }
	~dev_null() { close(fd); }
};

// A descriptor number that is not open (any more).
int closed_fd() { return dev_null(O_RDONLY).fd; }

tld_key_t make(const char *name) { return tldtest::make_key(name, 8); }

// The block works: write and read back, here and in a new thread.
void require_data_works(tld_key_t k)
{
	auto *p = static_cast<std::uint64_t *>(tld_data(k));
	INFO("tld_data failed, errno " << err_name(errno));
	REQUIRE(p != nullptr);
	*p = 0xabcdef;
	CHECK(*static_cast<std::uint64_t *>(tld_data(k)) == 0xabcdef);
	bool ok = false;
	std::thread([&] {
		auto *q = static_cast<std::uint64_t *>(tld_data(k));
		ok = q && q != p && *q == 0;
	}).join();
	CHECK(ok);
}

// tld_get_data(fd, k) (`when`: in which state of the thread) returns NULL and
// sets errno to err.
void require_get_data_fails(int fd, tld_key_t k, int err, const char *when)
{
	errno = 0;
	void *p = tld_get_data(fd, k);
	const int e = errno;
	INFO("tld_get_data(" << fd << ", key) " << when << " returned " << p << ", errno "
			     << err_name(e));
	CHECK(p == nullptr);
	CHECK(e == err);
}

} // namespace

TEST_CASE("tld_map_register of a descriptor that is not open is -EBADF")
{
	require_refused(tld_map_register, "tld_map_register", EBADF,
			{{-1, "-1"}, {-100, "-100"}, {closed_fd(), "closed fd"}});
}

TEST_CASE("tld_map_register of a pipe or /dev/null is -EINVAL")
{
	pipe_fds p;
	dev_null null(O_RDWR);
	require_refused(tld_map_register, "tld_map_register", EINVAL,
			{{p.fd[0], "pipe read end"}, {p.fd[1], "pipe write end"}, {null.fd, "/dev/null"}});
	// The library keeps no duplicate of a refused fd, and the caller's fd is untouched.
	CHECK(fcntl(null.fd, F_GETFD) >= 0);
}

TEST_CASE("tld_map_unregister of a descriptor that is not open is -EBADF")
{
	require_refused(tld_map_unregister, "tld_map_unregister", EBADF,
			{{-1, "-1"}, {closed_fd(), "closed fd"}});
}

TEST_CASE("tld_map_unregister of a file that is not a BPF map is -EINVAL")
{
	pipe_fds p;
	dev_null null(O_RDONLY);
	require_refused(tld_map_unregister, "tld_map_unregister", EINVAL,
			{{p.fd[0], "pipe"}, {null.fd, "/dev/null"}});
}

TEST_CASE("tld_map_open of a NULL or empty path is -EINVAL")
{
	require_refused(tld_map_open, "tld_map_open", EINVAL, {{nullptr, "NULL"}, {"", "\"\""}});
}

TEST_CASE("tld_map_open of a missing path is -ENOENT")
{
	require_refused(tld_map_open, "tld_map_open", ENOENT,
			{{"/nonexistent/path", "/nonexistent/path"},
			 {"/sys/fs/bpf/tld-test-no-such-pin", "/sys/fs/bpf/tld-test-no-such-pin"}});
}

TEST_CASE("tld_get_data with fd -1 in a thread without a block is NULL with errno EBADF")
{
	tld_key_t k = make("get.noblock");
	require_get_data_fails(-1, k, EBADF, "as the thread's first lookup");
	errno = 0;
	void *p = tld_get_data(-5, k);
	INFO("tld_get_data(-5, key) returned " << p << ", errno " << err_name(errno));
	CHECK(p == nullptr);
	require_data_works(k);
}

TEST_CASE("tld_get_data with fd -1 after the thread took its block is NULL with errno EBADF")
{
	tld_key_t k = make("get.block");
	REQUIRE(tld_data(k) != nullptr);	// the thread has its block now
	for (int fd : {-1, -5})
		require_get_data_fails(fd, k, EBADF, "with a block");
	require_data_works(k);
}

TEST_CASE("tld_get_data with a pipe fd is NULL with errno EINVAL")
{
	tld_key_t k = make("get.pipe");
	pipe_fds p;
	for (const char *when : {"as the first lookup", "then with a block"})
		require_get_data_fails(p.fd[0], k, EINVAL, when);
}

TEST_CASE("tld_data keeps working after failed map calls")
{
	tld_key_t before = make("after.before");
	REQUIRE(tld_data(before) != nullptr);
	pipe_fds p;
	int null = open("/dev/null", O_RDWR);
	REQUIRE(null >= 0);
	CHECK(tld_map_register(-1) == -EBADF);
	CHECK(tld_map_register(p.fd[0]) == -EINVAL);
	CHECK(tld_map_register(null) == -EINVAL);
	CHECK(tld_map_unregister(-1) == -EBADF);
	CHECK(tld_map_unregister(null) == -EINVAL);
	CHECK(tld_map_open(nullptr) == -EINVAL);
	CHECK(tld_map_open("") == -EINVAL);
	CHECK(tld_map_open("/nonexistent/path") == -ENOENT);
	CHECK(tld_get_data(null, before) == nullptr);
	close(null);
	// Keys created before and after the failures both work.
	tld_key_t after = make("after.after");
	require_data_works(before);
	require_data_works(after);
	// With no map registered, tld_thread_init succeeds.
	int r = tld_thread_init();
	INFO("tld_thread_init() with no map registered returned " << r);
	CHECK(r == 0);
}
