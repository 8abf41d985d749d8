// What a BPF consumer built on <tld/tld.bpf.h> gets: it loads at any scale,
// reads only TLDs that have the bytes it asks for, reads right across
// exec(), links from several objects and keeps its writers across its own
// restarts.  Each TEST_CASE runs in a process of its own (see meson.build).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bpftest.hpp"
#include "child.hpp"
#include "threads.hpp"
#include "verified.hpp"
#include "linked.skel.h"
#include "literal.skel.h"
#include "restart.skel.h"
#include "tld/tld.h"

using tldtest::bytes_of;
using tldtest::reader;
using tldtest::spec;

namespace {

const char *env_path(const char *var)
{
	const char *p = std::getenv(var);
	if (!p || !*p)
		throw std::runtime_error(std::string(var) + " is not set");
	return p;
}

// The object file `path`, opened anew for each count of verify_one().
auto object_file(const char *path)
{
	return [path] { return bpf_object__open_file(path, nullptr); };
}

// A pipe whose ends close with the object.
struct channel {
	int fd[2] = {-1, -1};
	channel()
	{
		if (pipe2(fd, O_CLOEXEC))
			throw std::runtime_error("pipe2");
	}
	~channel()
	{
		for (int f : fd)
			if (f >= 0)
				close(f);
	}
	void send(char c) const
	{
		if (write(fd[1], &c, 1) != 1)
			throw std::runtime_error("write to child");
	}
	char receive() const
	{
		char c = 0;
		if (read(fd[0], &c, 1) != 1)
			throw std::runtime_error("the other process ended early");
		return c;
	}
	// No more to send: the reader sees the end.
	void close_write()
	{
		close(fd[1]);
		fd[1] = -1;
	}
};

// A task that exec'd: what the probe reader's task iterator sees of it
// (of the process's main thread only: a sanitizer may start threads of its
// own in a forked child).
std::vector<tldtest::reading> read_task(const reader &r, pid_t pid, const std::vector<spec> &tlds)
{
	// No reset_cache: the key cache stays as warm as any consumer's.
	std::vector<tldtest::reading> out;
	for (auto &t : r.read_process(pid, tlds, tldtest::twice))
		if (t.tid == pid)
			out.push_back(std::move(t));
	return out;
}

const std::vector<spec> exec_tlds = {{"exec.a", 8}, {"exec.b", 8}, {"exec.c", 8}};

// A probe reader with tld_exec attached, its map pinned as `name`.
struct exec_watch {
	reader r{reader::probe};
	tldtest::pin pinned;
	explicit exec_watch(const std::string &name) : pinned((r.attach_exec(), r.data_map_fd()), name)
	{
	}
};

// fork() a child that tells the parent through `ready` and hears from it
// through `go`: the child keeps only those ends, with the pinned map
// `path` as TLD_MAP.  The child's pid, 0 in the child.
pid_t fork_registered(channel &ready, channel &go, const std::string &path)
{
	const pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		close(ready.fd[0]);
		close(go.fd[1]);
		setenv("TLD_MAP", path.c_str(), 1);
	}
	return pid;
}

// A skeleton from open_load(), which must load, destroyed at the end of the
// scope.
template <typename T>
std::unique_ptr<T, void (*)(T *)> loaded(T *(*open_load)(), void (*destroy)(T *))
{
	std::unique_ptr<T, void (*)(T *)> s(open_load(), destroy);
	REQUIRE(s);
	return s;
}

} // namespace

TEST_CASE("a consumer loads with 4 lookups in a row and 16 over 4 branches and a run-time name for every name length")
{
	const char *path = env_path("TLD_SCALE_OBJ");
	std::vector<std::string> failures;
	int loaded = 0;
	const auto names = tldtest::program_names(object_file(path));
	REQUIRE(!names.empty());
	for (const auto &name : names) {
		if (name.rfind("sites_", 0) == 0)
			continue;	// the next case
		auto r = tldtest::verify_one(object_file(path), name);
		if (!r.ok)
			failures.push_back(name + ": " + r.why);
		else if (name != "tld_exec")
			++loaded;
	}
	INFO(failures.size() << " programs failed");
	REQUIRE_NO_FAILURES(failures);
	CHECK(loaded == 2 * 61 + 1);
}

TEST_CASE("sixteen lookup sites verify in at most 60000 instructions and sixty-four in at most 120000")
{
	const char *path = env_path("TLD_SCALE_OBJ");
	for (auto [sites, limit] : {std::pair{1, 0u}, std::pair{4, 0u}, std::pair{16, 60000u},
				    std::pair{64, 120000u}}) {
		auto r = tldtest::verify_one(object_file(path), "sites_" + std::to_string(sites));
		INFO(sites << " sites: " << (r.ok ? std::to_string(r.insns) + " instructions" : r.why));
		REQUIRE(r.ok);
		if (limit)
			CHECK(r.insns <= limit);
	}
}

TEST_CASE("BPF finds a literal name of every length from 1 to 61 with its own bytes")
{
	auto skel = loaded(literal__open_and_load, literal__destroy);
	REQUIRE(tld_map_register(bpf_map__fd(skel->maps.tld_data_map)) == 0);
	const std::size_t n = sizeof(skel->rodata->literal_names) / sizeof(skel->rodata->literal_names[0]);
	REQUIRE(n == 61);
	std::vector<tld_key_t> keys;	// all before the first block: sized into it
	for (std::size_t i = 0; i < n; ++i) {
		const char *name = skel->rodata->literal_names[i];
		REQUIRE(std::strlen(name) == i + 1);
		keys.push_back(tld_create_key(name, 8));
	}
	for (std::size_t i = 0; i < n; ++i) {
		auto *p = static_cast<std::uint64_t *>(tld_data(keys[i]));
		REQUIRE(p);
		*p = 0x11170000u + i;
	}
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	for (int round = 0; round < 2; ++round) {	// by name, then cached
		REQUIRE(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.literal), &opts) == 0);
		for (std::size_t i = 0; i < n; ++i) {
			INFO("round " << round << ", " << skel->rodata->literal_names[i]);
			CHECK(skel->bss->literal_value[i] == 0x11170000u + i);
		}
	}
}

TEST_CASE("BPF finds no TLD for more bytes than it was published with and TLD_CHECK_SIZE wants the exact size")
{
	reader plain(reader::probe), exact(reader::probe_exact);
	REQUIRE(tld_map_register(plain.data_map_fd()) == 0);
	REQUIRE(tld_map_register(exact.data_map_fd()) == 0);
	tld_key_t k4 = tld_create_key("size.four", 4);
	tld_key_t k8 = tld_create_key("size.next", 8);
	REQUIRE(!tld_key_is_err(k4));
	REQUIRE(!tld_key_is_err(k8));
	auto *four = static_cast<std::uint32_t *>(tld_data(k4));
	auto *next = static_cast<std::uint64_t *>(tld_data(k8));
	REQUIRE(four);
	REQUIRE(next);
	*four = 0x44444444;
	*next = 0x8888888888888888ull;
	// Asked for 8 bytes, "size.four" would run into "size.next".
	auto p = plain.read({{"size.four", 8}, {"size.four", 4}, {"size.four", 2}, {"size.next", 16}});
	CHECK(p.items[0].found == 0);
	CHECK(p.items[1].found == 1);
	CHECK(p.items[1].value == bytes_of(*four));
	CHECK(p.items[2].found == 1);
	CHECK(p.items[3].found == 0);
	auto e = exact.read({{"size.four", 8}, {"size.four", 4}, {"size.four", 2}});
	CHECK(e.items[0].found == 0);
	CHECK(e.items[1].found == 1);
	CHECK(e.items[2].found == 0);
}

TEST_CASE("after exec into another layout a warm key cache reads each name's own bytes and finds new names")
{
	exec_watch w("exec");
	const reader &r = w.r;
	channel ready, go;
	const pid_t pid = fork_registered(ready, go, w.pinned.path);
	if (pid == 0) {
		tld_key_t a = tld_create_key("exec.a", 8), b = tld_create_key("exec.b", 8);
		auto *pa = static_cast<std::uint64_t *>(tld_data(a));
		auto *pb = static_cast<std::uint64_t *>(tld_data(b));
		if (!pa || !pb || tld_thread_init())
			_exit(1);
		*pa = 1;
		*pb = 2;
		ready.send('R');
		go.receive();
		// exec_target publishes exec.b, exec.c, exec.a = 20, 30, 10.
		if (dup2(ready.fd[1], 3) < 0 || dup2(go.fd[0], 4) < 0)
			_exit(2);
		const char *target = std::getenv("TLD_EXEC_TARGET");
		execl(target, target, static_cast<char *>(nullptr));
		_exit(3);
	}
	REQUIRE(ready.receive() == 'R');
	auto before = read_task(r, pid, exec_tlds);
	REQUIRE(before.size() == 1);
	CHECK(before[0].items[0].value == bytes_of(std::uint64_t{1}));
	CHECK(before[0].items[1].value == bytes_of(std::uint64_t{2}));
	CHECK(before[0].items[2].found == 0);	// cached: searched, not found
	go.send('G');
	REQUIRE(ready.receive() == 'R');
	auto after = read_task(r, pid, exec_tlds);
	go.close_write();
	CHECK(tldtest::wait_status(pid) == 0);
	REQUIRE(after.size() == 1);
	const std::uint64_t want[] = {10, 20, 30};
	for (std::size_t i = 0; i < 3; ++i) {
		INFO(exec_tlds[i].name << ": found " << after[0].items[i].found);
		REQUIRE(after[0].items[i].found == 1);
		CHECK(after[0].items[i].value == bytes_of(want[i]));
	}
}

TEST_CASE("after exec into an image without libtld and after fork and exec the task has no element")
{
	exec_watch w("exec-none");
	const reader &r = w.r;
	for (bool forked : {false, true}) {
		INFO((forked ? "fork() of a registered process, then exec" : "exec of a registered process"));
		channel ready, go;
		const pid_t pid = fork_registered(ready, go, w.pinned.path);
		if (pid == 0) {
			auto *p = static_cast<std::uint64_t *>(tld_data(tld_create_key("exec.a", 8)));
			if (!p || tld_thread_init())
				_exit(1);
			*p = 1;
			// Ready; at "go", exec a shell that says it runs.
			auto exec_shell = [&] {
				if (write(ready.fd[1], "R", 1) != 1)
					return 4;
				go.receive();
				if (dup2(ready.fd[1], 3) < 0 || dup2(go.fd[0], 4) < 0)
					return 5;
				execl("/bin/sh", "sh", "-c", "printf R >&3; while read x <&4; do :; done",
				      static_cast<char *>(nullptr));
				return 6;
			};
			// Forked, the child registers through libtld's fork handler.
			_exit(forked ? tldtest::in_child(exec_shell) : exec_shell());
		}
		REQUIRE(ready.receive() == 'R');
		// The task to watch: the child, or the child's child.
		pid_t task = pid;
		if (forked) {
			for (int tries = 0; tries < 100 && task == pid; ++tries) {
				// The grandchild is the other process with our pin's element.
				std::string kids = "/proc/" + std::to_string(pid) + "/task/" +
						   std::to_string(pid) + "/children";
				FILE *f = std::fopen(kids.c_str(), "r");
				int k = 0;
				if (f && std::fscanf(f, "%d", &k) == 1)
					task = k;
				if (f)
					std::fclose(f);
				if (task == pid)
					usleep(10000);
			}
			REQUIRE(task != pid);
		}
		auto before = read_task(r, task, {{"exec.a", 8}});
		REQUIRE(before.size() == 1);
		CHECK(before[0].has_elem);
		CHECK(before[0].items[0].value == bytes_of(std::uint64_t{1}));
		go.send('G');
		REQUIRE(ready.receive() == 'R');
		auto after = read_task(r, task, {{"exec.a", 8}});
		CHECK_FALSE(tldtest::has_element(r.data_map_fd(), task));
		go.close_write();
		CHECK(tldtest::wait_status(pid) == 0);
		REQUIRE(after.size() == 1);
		CHECK_FALSE(after[0].has_elem);
		CHECK(after[0].err == -ENODATA);
	}
}

TEST_CASE("two objects that include the header link into one and both read through the shared maps")
{
	auto skel = loaded(linked__open_and_load, linked__destroy);
	// One map of each kind, one tld_exec, both readers.
	int maps = 0;
	bpf_map *m;
	bpf_object__for_each_map(m, skel->obj)
	maps += std::strncmp(bpf_map__name(m), "tld_", 4) == 0;
	CHECK(maps == 2);
	int exec_progs = 0;
	bpf_program *prog;
	bpf_object__for_each_program(prog, skel->obj)
	exec_progs += std::strcmp(bpf_program__name(prog), "tld_exec") == 0;
	CHECK(exec_progs == 1);
	REQUIRE(tld_map_register(bpf_map__fd(skel->maps.tld_data_map)) == 0);
	auto *a = static_cast<std::uint64_t *>(tld_data(tld_create_key("linked.a", 8)));
	auto *b = static_cast<std::uint64_t *>(tld_data(tld_create_key("linked.b", 8)));
	REQUIRE(a);
	REQUIRE(b);
	*a = 0xaaaa;
	*b = 0xbbbb;
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	REQUIRE(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.read_a), &opts) == 0);
	REQUIRE(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.read_b), &opts) == 0);
	CHECK(skel->bss->found_a == 1);
	CHECK(skel->bss->found_b == 1);
	CHECK(skel->bss->value_a == 0xaaaa);
	CHECK(skel->bss->value_b == 0xbbbb);
}

TEST_CASE("a consumer that pins tld_data_map by name reads a writer that registered once across 20 restarts")
{
	const std::string root = "/sys/fs/bpf/tld-test-restart-" + std::to_string(getpid());
	mkdir(root.c_str(), 0700);
	const std::string pin = root + "/tld_data_map";
	tldtest::removed_dir gone{root, {pin}};
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = root.c_str());
	auto load = [&] {
		restart *s = restart__open_opts(&opts);
		if (!s)
			throw std::runtime_error("opening the consumer");
		if (restart__load(s)) {
			restart__destroy(s);
			throw std::runtime_error(std::string("loading the consumer: ") +
						 std::strerror(errno));
		}
		return s;
	};
	restart *first = load();
	struct stat st;
	REQUIRE(stat(pin.c_str(), &st) == 0);

	// The writer registers once, then only stores (no call into libtld).
	channel round_no, ready;
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		close(round_no.fd[1]);
		close(ready.fd[0]);
		int fd = tld_map_open(pin.c_str());
		auto *v = static_cast<std::uint64_t *>(tld_data(tld_create_key("restart.value", 8)));
		if (fd < 0 || !v)
			_exit(1);
		close(fd);
		char c;
		while (read(round_no.fd[0], &c, 1) == 1) {
			*v = 0x7e570000u + static_cast<unsigned char>(c);
			if (write(ready.fd[1], "R", 1) != 1)
				_exit(2);
		}
		_exit(0);
	}
	restart__destroy(first);
	std::vector<std::string> failures;
	for (int i = 0; i < 20; ++i) {
		restart *s = load();	// a new instance: new programs, new key cache
		round_no.send(static_cast<char>(i));
		ready.receive();
		std::string f;
		try {
			tldtest::iterate_tasks(s->progs.read_writer, pid);
			if (s->bss->found != 1 || s->bss->value != 0x7e570000u + static_cast<unsigned>(i))
				f = "found " + std::to_string(s->bss->found) + ", value " +
				    std::to_string(s->bss->value);
		} catch (const std::exception &e) {
			f = e.what();
		}
		if (!f.empty())
			failures.push_back("restart " + std::to_string(i) + ": " + f);
		restart__destroy(s);
	}
	round_no.close_write();
	CHECK(tldtest::wait_status(pid) == 0);
	REQUIRE_NO_FAILURES(failures);
}
