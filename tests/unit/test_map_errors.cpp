// Map API argument errors that need no BPF privileges, and that none of them
// disturbs tld_data().
#include <catch2/catch_test_macros.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <thread>

#include "unit_common.hpp"

using tldtest::err_name;

namespace {

void require_status(int r, int err, const char *what)
{
	const int e = errno;
	INFO(what << " returned " << r << " (" << err_name(r) << "), errno " << err_name(e)
		  << ", expected -" << err_name(err));
	CHECK(r == -err);
	CHECK(e == err);
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

tld_key_t make(const char *name)
{
	tld_key_t k = tld_create_key(name, 8);
	INFO("tld_create_key(\"" << name << "\") returned " << k.off);
	REQUIRE_FALSE(tld_key_is_err(k));
	return k;
}

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

} // namespace

TEST_CASE("tld_map_register of a descriptor that is not open is -EBADF")
{
	errno = 0;
	require_status(tld_map_register(-1), EBADF, "tld_map_register(-1)");
	errno = 0;
	require_status(tld_map_register(-100), EBADF, "tld_map_register(-100)");
	int fd = open("/dev/null", O_RDONLY);
	REQUIRE(fd >= 0);
	close(fd);
	errno = 0;
	require_status(tld_map_register(fd), EBADF, "tld_map_register(closed fd)");
}

TEST_CASE("tld_map_register of a pipe or /dev/null is -EINVAL")
{
	pipe_fds p;
	errno = 0;
	require_status(tld_map_register(p.fd[0]), EINVAL, "tld_map_register(pipe read end)");
	errno = 0;
	require_status(tld_map_register(p.fd[1]), EINVAL, "tld_map_register(pipe write end)");
	int null = open("/dev/null", O_RDWR);
	REQUIRE(null >= 0);
	errno = 0;
	require_status(tld_map_register(null), EINVAL, "tld_map_register(/dev/null)");
	// The library keeps no duplicate of a refused fd, and the caller's fd is untouched.
	CHECK(fcntl(null, F_GETFD) >= 0);
	close(null);
}

TEST_CASE("tld_map_unregister of a descriptor that is not open is -EBADF")
{
	errno = 0;
	require_status(tld_map_unregister(-1), EBADF, "tld_map_unregister(-1)");
	int fd = open("/dev/null", O_RDONLY);
	REQUIRE(fd >= 0);
	close(fd);
	errno = 0;
	require_status(tld_map_unregister(fd), EBADF, "tld_map_unregister(closed fd)");
}

TEST_CASE("tld_map_unregister of a file that is not a BPF map is -EINVAL")
{
	pipe_fds p;
	errno = 0;
	require_status(tld_map_unregister(p.fd[0]), EINVAL, "tld_map_unregister(pipe)");
	int null = open("/dev/null", O_RDONLY);
	REQUIRE(null >= 0);
	errno = 0;
	require_status(tld_map_unregister(null), EINVAL, "tld_map_unregister(/dev/null)");
	close(null);
}

TEST_CASE("tld_map_open of a NULL or empty path is -EINVAL")
{
	errno = 0;
	require_status(tld_map_open(nullptr), EINVAL, "tld_map_open(NULL)");
	errno = 0;
	require_status(tld_map_open(""), EINVAL, "tld_map_open(\"\")");
}

TEST_CASE("tld_map_open of a missing path is -ENOENT")
{
	errno = 0;
	require_status(tld_map_open("/nonexistent/path"), ENOENT, "tld_map_open(/nonexistent/path)");
	errno = 0;
	require_status(tld_map_open("/sys/fs/bpf/tld-test-no-such-pin"), ENOENT,
		       "tld_map_open(/sys/fs/bpf/tld-test-no-such-pin)");
}

TEST_CASE("tld_get_data with fd -1 in a thread without a block is NULL with errno EBADF")
{
	tld_key_t k = make("get.noblock");
	errno = 0;
	void *p = tld_get_data(-1, k);
	const int e = errno;
	INFO("tld_get_data(-1, key) as the thread's first lookup returned " << p << ", errno "
									 << err_name(e));
	CHECK(p == nullptr);
	CHECK(e == EBADF);
	errno = 0;
	p = tld_get_data(-5, k);
	INFO("tld_get_data(-5, key) returned " << p << ", errno " << err_name(errno));
	CHECK(p == nullptr);
	require_data_works(k);
}

TEST_CASE("tld_get_data with fd -1 after the thread took its block is NULL with errno EBADF")
{
	tld_key_t k = make("get.block");
	REQUIRE(tld_data(k) != nullptr);	// the thread has its block now
	for (int fd : {-1, -5}) {
		errno = 0;
		void *p = tld_get_data(fd, k);
		const int e = errno;
		INFO("tld_get_data(" << fd << ", key) with a block returned " << p << ", errno "
				     << err_name(e));
		CHECK(p == nullptr);
		CHECK(e == EBADF);
	}
	require_data_works(k);
}

TEST_CASE("tld_get_data with a pipe fd is NULL with errno EINVAL")
{
	tld_key_t k = make("get.pipe");
	pipe_fds p;
	for (int round = 0; round < 2; ++round) {	// first lookup, then with a block
		errno = 0;
		void *d = tld_get_data(p.fd[0], k);
		const int e = errno;
		INFO("round " << round << ": tld_get_data(pipe, key) returned " << d << ", errno "
			      << err_name(e));
		CHECK(d == nullptr);
		CHECK(e == EINVAL);
	}
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
