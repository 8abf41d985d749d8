// Deployment without CAP_BPF: a privileged loader (this test process, root)
// pins the map; an unprivileged process (a child that drops to uid and gid
// 65534, no supplementary groups, no capabilities in any set) opens the pin
// with tld_map_open().  The pin's mode and owner are the access control.
#include <bpf/bpf.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/types.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bpftest.hpp"
#include "tld/tld.h"

extern "C" {
#include "tld/tld_layout.h"
}

namespace {

constexpr uid_t nobody = 65534;
constexpr gid_t nogroup = 65534;

// Drop every privilege for good.  0, or the step that failed.
int drop_privileges()
{
	for (int cap = 0; cap <= 63; ++cap)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
			return 1;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0))
		return 2;
	if (setgroups(0, nullptr))
		return 3;
	if (setresgid(nogroup, nogroup, nogroup))
		return 4;
	if (setresuid(nobody, nobody, nobody))	// clears the permitted and effective sets
		return 5;
	__user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	__user_cap_data_struct d[2] = {};
	if (syscall(SYS_capset, &h, d))
		return 6;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return 7;
	std::memset(d, 0xff, sizeof(d));
	if (syscall(SYS_capget, &h, d))
		return 8;
	for (auto &x : d)
		if (x.effective || x.permitted || x.inheritable)
			return 9;
	if (getuid() != nobody || geteuid() != nobody || getgid() != nogroup)
		return 10;
	return 0;
}

// Run `child()` in a forked child that dropped its privileges first; the
// child's return value is its exit status (100 + step if dropping failed).
template <typename F> int as_nobody(F child)
{
	std::fflush(nullptr);
	pid_t pid = fork();
	if (pid < 0)
		throw std::runtime_error("fork");
	if (pid == 0) {
		if (int step = drop_privileges())
			_exit(100 + step);
		int rc = 1;
		try {
			rc = child();
		} catch (const std::exception &e) {
			std::fprintf(stderr, "child: %s\n", e.what());
			rc = 99;
		}
		std::fflush(nullptr);
		_exit(rc);
	}
	int status = 0;
	if (waitpid(pid, &status, 0) != pid)
		throw std::runtime_error("waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Two pipes, then fork(): the child's pid, 0 in the child.
pid_t fork_with_pipes(int (&a)[2], int (&b)[2])
{
	REQUIRE(pipe(a) == 0);
	REQUIRE(pipe(b) == 0);
	std::fflush(nullptr);
	const pid_t pid = fork();
	REQUIRE(pid >= 0);
	return pid;
}

std::uint64_t value_for(pid_t tid) { return 0x7a000000ull + static_cast<unsigned>(tid); }

} // namespace

TEST_CASE("an unprivileged process gets a clear error from a pin closed to it and its TLDs keep working")
{
	tldtest::reader obj;
	tldtest::pin p(obj.data_map_fd(), "priv");
	p.set(0600, 0, 0);
	int rc = as_nobody([&] {
		int bits = 0;
		tld_key_t k = tld_create_key("priv.value", 8);
		errno = 0;
		int r = tld_map_open(p.path.c_str());
		std::fprintf(stderr, "child: tld_map_open = %d\n", r);
		if (r != -EACCES && r != -EPERM)
			bits |= 1;
		if (errno != -r)
			bits |= 2;
		auto *v = static_cast<std::uint64_t *>(tld_data(k));
		if (!v)
			return bits | 4;
		*v = 77;
		if (*static_cast<std::uint64_t *>(tld_data(k)) != 77)
			bits |= 8;
		if (tld_thread_init() != 0)	// no map registered: nothing to fail
			bits |= 16;
		return bits;
	});
	INFO("child failures (bits: 1 not -EACCES/-EPERM, 2 errno, 4 tld_data, 8 value, 16 tld_thread_init; 100+: dropping privileges): " << rc);
	CHECK(rc == 0);
	// The same through TLD_MAP: every tld_thread_init() reports it, data works.
	rc = as_nobody([&] {
		setenv("TLD_MAP", p.path.c_str(), 1);
		tld_key_t k = tld_create_key("priv.value", 8);
		int r = tld_thread_init();
		std::fprintf(stderr, "child: tld_thread_init with TLD_MAP = %d\n", r);
		int bits = (r == -EACCES || r == -EPERM) ? 0 : 1;
		if (tld_thread_init() != r)
			bits |= 2;
		auto *v = static_cast<std::uint64_t *>(tld_data(k));
		if (!v)
			return bits | 4;
		*v = 78;
		return bits;
	});
	INFO("TLD_MAP child failures (bits: 1 not -EACCES/-EPERM, 2 not repeated, 4 tld_data): " << rc);
	CHECK(rc == 0);
}

TEST_CASE("an unprivileged process registers through a pin open to it and BPF in the privileged parent reads its TLDs")
{
	tldtest::reader obj;
	tldtest::pin p(obj.data_map_fd(), "priv");
	const std::vector<tldtest::spec> specs = {{"priv.value", 8}, {"priv.name", 16}};
	struct access {
		const char *what;
		mode_t mode;
		uid_t uid;
		gid_t gid;
	};
	for (access a : {access{"mode 0666, owned by root", 0666, 0, 0},
			 access{"mode 0600, owned by the user", 0600, nobody, nogroup}}) {
		INFO(a.what);
		p.set(a.mode, a.uid, a.gid);
		int up[2], down[2];
		const pid_t pid = fork_with_pipes(up, down);
		if (pid == 0) {
			close(up[0]);
			close(down[1]);
			if (int step = drop_privileges())
				_exit(100 + step);
			tld_key_t kv = tld_create_key("priv.value", 8);
			tld_key_t kn = tld_create_key("priv.name", 16);
			int fd = tld_map_open(p.path.c_str());
			if (fd < 0) {
				std::fprintf(stderr, "child: tld_map_open = %d\n", fd);
				_exit(1);
			}
			close(fd);
			// Two threads: the main one and one started after registration.
			auto publish = [&]() -> pid_t {
				pid_t tid = tldtest::gettid_();
				auto *v = static_cast<std::uint64_t *>(tld_data(kv));
				auto *n = static_cast<char *>(tld_data(kn));
				if (!v || !n || tld_thread_init() != 0)
					return -1;
				*v = value_for(tid);
				std::snprintf(n, 16, "nobody-%d", tid % 100000);
				return tid;
			};
			pid_t tids[2] = {publish(), -1};
			char go = 0;
			std::thread t([&] {
				tids[1] = publish();
				if (write(up[1], tids, sizeof(tids)) != sizeof(tids))
					_exit(2);
				if (read(down[0], &go, 1) != 1)
					_exit(3);
			});
			t.join();
			_exit(tids[0] > 0 && tids[1] > 0 ? 0 : 4);
		}
		close(up[1]);
		close(down[0]);
		pid_t tids[2] = {0, 0};
		bool got = read(up[0], tids, sizeof(tids)) == sizeof(tids);
		std::vector<tldtest::reading> seen;
		std::string err;
		if (got) {
			try {
				seen = obj.read_process(pid, specs);
			} catch (const std::exception &e) {
				err = e.what();
			}
		}
		char go = 1;
		CHECK(write(down[1], &go, 1) == 1);
		close(up[0]);
		close(down[1]);
		int status = 0;
		REQUIRE(waitpid(pid, &status, 0) == pid);
		INFO("child exit status " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1));
		REQUIRE(got);
		INFO(err);
		REQUIRE(err.empty());
		for (pid_t tid : tids) {
			INFO("thread " << tid);
			const tldtest::reading *r = nullptr;
			for (const auto &s : seen)
				if (s.tid == tid)
					r = &s;
			REQUIRE(r != nullptr);
			CHECK(r->has_elem);
			REQUIRE(r->err == 0);
			CHECK(r->items[0].found == 1);
			CHECK(r->items[0].value == tldtest::bytes_of(value_for(tid)));
			CHECK(r->items[1].found == 1);
			char name[16] = {};
			std::snprintf(name, 16, "nobody-%d", tid % 100000);
			CHECK(r->items[1].value == std::vector<std::uint8_t>(name, name + 16));
		}
	}
}

TEST_CASE("whoever can write to the map sets the TLDs of any task and the pin mode decides who can")
{
	tldtest::reader obj;
	tldtest::pin p(obj.data_map_fd(), "priv");
	const pid_t root_task = getpid();	// this thread: the thread group leader
	REQUIRE(tldtest::gettid_() == root_task);
	// The unprivileged child publishes pages of its own as this root
	// process's TLDs: a pidfd of the target is all the kernel asks for.
	auto forge = [&] {
		int fd = bpf_obj_get(p.path.c_str());
		if (fd < 0)
			return 1;
		const std::size_t ps = 4096;
		auto *meta = static_cast<tld_meta_u *>(
			mmap(nullptr, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
		auto *data = static_cast<tld_data_u *>(
			mmap(nullptr, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
		if (meta == MAP_FAILED || data == MAP_FAILED)
			return 2;
		std::strcpy(meta->metadata[0].name, "victim.flag");
		meta->metadata[0].size = 8;
		meta->cnt = 1;
		data->start = 8;
		const std::uint64_t forged = 0x4141414141414141ull;
		std::memcpy(data->data, &forged, 8);
		int pidfd = static_cast<int>(syscall(SYS_pidfd_open, root_task, 0));
		if (pidfd < 0)
			return 3;
		struct {
			__u64 data, meta;
		} v = {reinterpret_cast<__u64>(data), reinterpret_cast<__u64>(meta)};
		if (bpf_map_update_elem(fd, &pidfd, &v, BPF_ANY)) {
			std::fprintf(stderr, "child: update: %s\n", std::strerror(errno));
			return 4;
		}
		return 0;
	};
	// Closed to the user: the child cannot even open the pin.
	p.set(0600, 0, 0);
	CHECK(as_nobody(forge) == 1);
	CHECK_FALSE(obj.read({{"victim.flag", 8}}).has_elem);
	// Open to the user: it can set this root process's TLDs.
	p.set(0666, 0, 0);
	int rc = as_nobody(forge);
	INFO("child status (1 open, 2 mmap, 3 pidfd_open, 4 update): " << rc);
	REQUIRE(rc == 0);
	auto rd = obj.read({{"victim.flag", 8}});
	CHECK(rd.has_elem);
	CHECK(rd.items[0].found == 1);
	CHECK(rd.items[0].value == tldtest::bytes_of(std::uint64_t{0x4141414141414141ull}));
	// Clean up this task's forged element.
	int pidfd = tldtest::thread_pidfd(root_task);
	REQUIRE(pidfd >= 0);
	CHECK(bpf_map_delete_elem(obj.data_map_fd(), &pidfd) == 0);
	close(pidfd);
}

TEST_CASE("a setuid program takes neither TLD_MAP nor TLD_DYN_DATA_SIZE from the environment of whoever runs it")
{
	// A root-only pin that the user running the program did not name
	// for it: a setuid-root program must not publish there on their say.
	tldtest::reader obj;
	tldtest::pin p(obj.data_map_fd(), "setuid");
	p.set(0600, 0, 0);
	char dir[] = "/tmp/tld-setuid-XXXXXX";
	REQUIRE(mkdtemp(dir));
	const std::string prog = std::string(dir) + "/setuid-target";
	tldtest::removed_dir gone{dir, {prog}};
	{
		FILE *in = std::fopen(std::getenv("SETUID_TARGET"), "rb");
		FILE *out = std::fopen(prog.c_str(), "wb");
		REQUIRE(in);
		REQUIRE(out);
		char buf[65536];
		for (std::size_t n; (n = std::fread(buf, 1, sizeof(buf), in)) > 0;)
			REQUIRE(std::fwrite(buf, 1, n, out) == n);
		std::fclose(in);
		std::fclose(out);
	}
	REQUIRE(chown(prog.c_str(), 0, 0) == 0);
	REQUIRE(chmod(prog.c_str(), 04755) == 0);
	REQUIRE(chmod(dir, 0755) == 0);

	int out[2], in[2];
	const pid_t pid = fork_with_pipes(out, in);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		for (int fd : {in[0], in[1], out[0], out[1]})
			close(fd);
		// An ordinary user: no privileges, but allowed to gain them
		// through the setuid bit (no PR_SET_NO_NEW_PRIVS).
		if (setgroups(0, nullptr) || setresgid(nogroup, nogroup, nogroup) ||
		    setresuid(nobody, nobody, nobody))
			_exit(100);
		setenv("TLD_MAP", p.path.c_str(), 1);
		setenv("TLD_DYN_DATA_SIZE", "2048", 1);
		execl(prog.c_str(), prog.c_str(), static_cast<char *>(nullptr));
		_exit(101);
	}
	close(in[0]);
	close(out[1]);
	char line[128] = {};
	FILE *f = fdopen(out[0], "r");
	REQUIRE(f);
	const bool got = std::fgets(line, sizeof(line), f) != nullptr;
	// Whether the program published in the pinned map, while it runs.
	const bool published = got && tldtest::has_element(obj.data_map_fd(), pid);
	close(in[1]);
	int status = 0;
	waitpid(pid, &status, 0);
	std::fclose(f);
	INFO("the program said: " << line << " (exit status " << status << ")");
	REQUIRE(got);
	CHECK_FALSE(published);
	int init = 1, late = 1;
	REQUIRE(std::sscanf(line, "init=%d late=%d", &init, &late) == 2);
	CHECK(init == 0);
	CHECK(late == -E2BIG);	// the default reserve of 64 bytes, not 2048
}
