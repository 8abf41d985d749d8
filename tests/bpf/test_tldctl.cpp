// tldctl against live processes and maps.  TLDCTL and DUMP_TARGET name the
// built programs, PYTHON3 and JSON_FLAT the JSON checker (see meson.build).
#include <bpf/bpf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bpftest.hpp"

extern "C" {
#include "tld/tld_layout.h"
}

namespace {

std::string env(const char *name)
{
	const char *v = std::getenv(name);
	INFO("environment variable " << name);
	REQUIRE(v != nullptr);
	return v;
}

// A file under /tmp that disappears with the test.
struct temp_file {
	std::string path;
	explicit temp_file(const std::string &content = "")
	{
		char name[] = "/tmp/tld-test-XXXXXX";
		int fd = mkstemp(name);
		REQUIRE(fd >= 0);
		path = name;
		REQUIRE(write(fd, content.data(), content.size()) ==
			static_cast<ssize_t>(content.size()));
		close(fd);
	}
	~temp_file() { unlink(path.c_str()); }
	std::string read() const
	{
		std::string s;
		FILE *f = std::fopen(path.c_str(), "r");
		REQUIRE(f != nullptr);
		char buf[4096];
		std::size_t n;
		while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
			s.append(buf, n);
		std::fclose(f);
		return s;
	}
};

struct result {
	int status;
	std::string out;	// standard output
	std::string err;	// standard error
	std::string all() const { return out + err; }
};

// Run a shell command line; its standard error goes to a file of its own.
result shell(const std::string &cmdline)
{
	temp_file err;
	std::string cmd = cmdline + " 2>" + err.path;
	FILE *p = popen(cmd.c_str(), "r");
	REQUIRE(p != nullptr);
	std::string out;
	char buf[4096];
	std::size_t n;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		out.append(buf, n);
	int st = pclose(p);
	return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out, err.read()};
}

result run(const std::string &args)
{
	return shell(env("TLDCTL") + " " + args + " </dev/null");
}

// A JSON document as json_flat.py prints it: path -> "TYPE" for arrays and
// objects with their size, "TYPE VALUE" for scalars (strings in UTF-8).
using flat = std::map<std::string, std::string>;

flat parse_json(const std::string &json)
{
	temp_file in(json);
	auto r = shell(env("PYTHON3") + " " + env("JSON_FLAT") + " <" + in.path);
	INFO("JSON: " << json << "\nchecker: " << r.err);
	REQUIRE(r.status == 0);
	flat f;
	std::istringstream lines(r.out);
	std::string line;
	while (std::getline(lines, line)) {
		auto sp = line.find(' ');
		REQUIRE(sp != std::string::npos);
		f[line.substr(0, sp)] = line.substr(sp + 1);
	}
	return f;
}

std::string get(const flat &f, const std::string &path)
{
	auto it = f.find(path);
	return it == f.end() ? "(missing)" : it->second;
}

// The index of the element of `array` whose `field` is `want`, or -1.
int index_of(const flat &f, const std::string &array, const std::string &field,
	     const std::string &want)
{
	for (int i = 0; f.count(array + "[" + std::to_string(i) + "]"); ++i)
		if (get(f, array + "[" + std::to_string(i) + "]." + field) == want)
			return i;
	return -1;
}

std::string num(long long v) { return "number " + std::to_string(v); }

// Pages this test writes itself, not through libtld, with whatever a test
// puts in them: slot 0 holds "hand.a" (4 bytes, value 7), the count is 1.
struct hand_written {
	static constexpr std::size_t page = sizeof(tld_data_u);
	tld_meta_u *meta;
	tld_data_u *data;
	hand_written()
	{
		void *m = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		void *d = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		REQUIRE(m != MAP_FAILED);
		REQUIRE(d != MAP_FAILED);
		meta = static_cast<tld_meta_u *>(m);
		data = static_cast<tld_data_u *>(d);
		data->start = TLD_LAYOUT_DATA_START;
		std::strcpy(meta->metadata[0].name, "hand.a");
		meta->metadata[0].size = 4;
		std::uint32_t v = 7;
		std::memcpy(data->data, &v, sizeof(v));
		meta->cnt = 1;
	}
	~hand_written()
	{
		munmap(meta, page);
		munmap(data, page);
	}
	// The calling thread's element in `map_fd`, of `value_size` bytes: 16
	// for version 1, 24 for variant B, with `start_b` as the value's start.
	void publish(int map_fd, std::size_t value_size, std::uint16_t start_b = 0) const
	{
		struct {
			__u64 data, meta;
			__u16 start;
			__u8 pad[6];
		} v = {reinterpret_cast<__u64>(data), reinterpret_cast<__u64>(meta), start_b, {}};
		REQUIRE(value_size <= sizeof(v));
		std::vector<std::uint8_t> value(reinterpret_cast<const std::uint8_t *>(&v),
						reinterpret_cast<const std::uint8_t *>(&v) + value_size);
		int pidfd = tldtest::thread_pidfd(tldtest::gettid_());
		REQUIRE(pidfd >= 0);
		int err = bpf_map_update_elem(map_fd, &pidfd, value.data(), BPF_ANY);
		int e = errno;
		close(pidfd);
		INFO("update: " << std::strerror(e));
		REQUIRE(err == 0);
	}
};

// dump_target running with TLD_MAP set; its threads wait until destruction.
struct target {
	pid_t pid = -1;
	int to_child = -1;
	std::vector<std::string> tids;
	explicit target(const std::string &map_path)
	{
		std::string exe = env("DUMP_TARGET");
		int in[2], out[2];
		REQUIRE(pipe2(in, O_CLOEXEC) == 0);
		REQUIRE(pipe2(out, O_CLOEXEC) == 0);
		pid = fork();
		REQUIRE(pid >= 0);
		if (pid == 0) {
			dup2(in[0], 0);
			dup2(out[1], 1);
			setenv("TLD_MAP", map_path.c_str(), 1);
			execl(exe.c_str(), exe.c_str(), static_cast<char *>(nullptr));
			_exit(127);
		}
		close(in[0]);
		close(out[1]);
		to_child = in[1];
		std::string line;
		char c;
		while (read(out[0], &c, 1) == 1 && c != '\n')
			line += c;
		close(out[0]);
		std::istringstream words(line);
		std::string w;
		words >> w;
		REQUIRE(w == "ready");
		while (words >> w)
			tids.push_back(w);
	}
	~target()
	{
		close(to_child);
		int st;
		waitpid(pid, &st, 0);
	}
};

// How many TLDs every thread of dump_target publishes (its keys, in
// tests/bpf/dump_target.c).
constexpr long published_count = 8;

// The TLD object `name` (as JSON writes it) of thread `tid` in a dump.
std::string tld_at(const flat &f, const std::string &tid, const std::string &name)
{
	int t = index_of(f, ".threads", "tid", "number " + tid);
	REQUIRE(t >= 0);
	std::string tlds = ".threads[" + std::to_string(t) + "].tlds";
	int i = index_of(f, tlds, "name", "string " + name);
	INFO("TLD " << name << " of thread " << tid);
	REQUIRE(i >= 0);
	return tlds + "[" + std::to_string(i) + "]";
}

void check_dump_of(const target &t, const std::string &json)
{
	INFO(json);
	auto f = parse_json(json);
	REQUIRE(t.tids.size() == 3);
	CHECK(get(f, ".pid") == num(t.pid));
	CHECK(get(f, ".threads") == "array 3");	// the main thread publishes nothing
	for (std::size_t i = 0; i < t.tids.size(); ++i) {
		INFO("thread " << t.tids[i]);
		int ti = index_of(f, ".threads", "tid", "number " + t.tids[i]);
		REQUIRE(ti >= 0);
		CHECK(get(f, ".threads[" + std::to_string(ti) + "].tlds") ==
		      "array " + std::to_string(published_count));
		std::string p = tld_at(f, t.tids[i], "\"dump.tid\"");
		CHECK(get(f, p + ".size") == num(4));
		CHECK(get(f, p + ".offset") == num(8));
		CHECK(get(f, p + ".value") == "number " + t.tids[i]);
		p = tld_at(f, t.tids[i], "\"dump.small\"");
		CHECK(get(f, p + ".offset") == num(16));
		CHECK(get(f, p + ".value") == num(1000 + static_cast<long>(i)));
		std::string blob = "0x";
		for (int b = 0; b < 12; ++b)
			blob += "a" + std::to_string(i);
		CHECK(get(f, tld_at(f, t.tids[i], "\"dump.blob\"") + ".value") ==
		      "string \"" + blob + "\"");
	}
}

// A target writing through the map of a `kind` reader, pinned as `name`:
// tldctl dump --json names its `layout` and shows what every thread wrote;
// then more(the dump command without --json).
template <typename F>
void check_dump(tldtest::reader::kind kind, const char *name, const char *layout, F more)
{
	tldtest::reader reader(kind);
	tldtest::pin p(reader.data_map_fd(), name);
	target t(p.path);
	const std::string dump = "dump --pid " + std::to_string(t.pid) + " --map " + p.path;
	auto r = run(dump + " --json");
	INFO(r.all());
	REQUIRE(r.status == 0);
	CHECK(get(parse_json(r.out), ".layout") == "string \"" + std::string(layout) + "\"");
	check_dump_of(t, r.out);
	more(dump);
}

} // namespace

TEST_CASE("tldctl probe says task local data works on this kernel")
{
	auto r = run("probe");
	INFO(r.all());
	CHECK(r.status == 0);
	CHECK(r.out.find("task local data works here") != std::string::npos);
	CHECK(r.out.find("FAIL") == std::string::npos);
}

TEST_CASE("tldctl probe --json reports each requirement as an object with name and ok and detail")
{
	auto r = run("probe --json");
	INFO(r.all());
	REQUIRE(r.status == 0);
	auto f = parse_json(r.out);
	CHECK(get(f, ".works") == "bool true");
	CHECK(get(f, ".kernel").rfind("string \"", 0) == 0);
	std::string n = get(f, ".requirements");
	REQUIRE(n.rfind("array ", 0) == 0);
	int count = std::stoi(n.substr(6));
	CHECK(count >= 7);
	for (int i = 0; i < count; ++i) {
		std::string p = ".requirements[" + std::to_string(i) + "]";
		INFO(p);
		CHECK(get(f, p + ".name").rfind("string \"", 0) == 0);
		CHECK(get(f, p + ".ok").rfind("bool ", 0) == 0);
		CHECK(get(f, p + ".required").rfind("bool ", 0) == 0);
		CHECK(get(f, p + ".detail").rfind("string \"", 0) == 0);
	}
	int bpffs = index_of(f, ".requirements", "name", "string \"bpffs mounted\"");
	REQUIRE(bpffs >= 0);
	CHECK(get(f, ".requirements[" + std::to_string(bpffs) + "].required") == "bool false");
	CHECK(get(f, ".requirements[" + std::to_string(bpffs) + "].detail") ==
	      "string \"/sys/fs/bpf\"");
	int uptr = index_of(f, ".requirements", "name", "string \"task storage with UPTR fields\"");
	REQUIRE(uptr >= 0);
	CHECK(get(f, ".requirements[" + std::to_string(uptr) + "].ok") == "bool true");
}

TEST_CASE("tldctl verify compares every byte of many threads and keys")
{
	auto r = run("verify --threads 16 --keys 63");
	INFO(r.all());
	CHECK(r.status == 0);
	CHECK(r.out.find("16 threads x 63 TLDs") != std::string::npos);
	CHECK(r.out.find("all match") != std::string::npos);
	auto bad = run("verify --threads 0");
	CHECK(bad.status == 2);
	CHECK(run("verify --keys 64").status == 2);
	CHECK(run("verify --bogus").status == 2);
}

TEST_CASE("tldctl dump lists every thread's TLDs through a version 1 map")
{
	check_dump(tldtest::reader::verify, "dump-v1", "version 1", [](const std::string &dump) {
		auto table = run(dump);
		INFO(table.all());
		CHECK(table.status == 0);
		CHECK(table.out.find("3 threads with task local data") != std::string::npos);
	});
}

TEST_CASE("tldctl dump lists every thread's TLDs through a variant B map")
{
	check_dump(tldtest::reader::proto_b, "dump-b", "variant B", [](const std::string &) {});
}

TEST_CASE("tldctl dump explains what is wrong with its arguments")
{
	tldtest::reader verify(tldtest::reader::verify);
	tldtest::odd_maps odd;
	tldtest::pin good(verify.data_map_fd(), "dump-good");
	tldtest::pin array(odd.array16(), "dump-array");
	tldtest::pin c(odd.variant_c(), "dump-c");
	std::string self = std::to_string(getpid());
	auto r = run("dump --pid 2147483 --map " + good.path);
	CHECK(r.status == 3);
	CHECK(r.err.find("no such process") != std::string::npos);
	r = run("dump --pid " + self + " --map " + good.path + "-missing");
	CHECK(r.status == 3);
	CHECK(r.err.find("no map pinned there") != std::string::npos);
	r = run("dump --pid " + self + " --map " + array.path);
	INFO(r.err);
	CHECK(r.status == 3);
	CHECK(r.err.find(array.path + " is not a task storage map: an array map\n") !=
	      std::string::npos);
	// "a" before a consonant sound, "u" of "user" included.
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	int ring = bpf_map_create(BPF_MAP_TYPE_USER_RINGBUF, "tld_test_ring", 0, 0, 4096, &opts);
	REQUIRE(ring >= 0);
	{
		tldtest::pin ring_pin(ring, "dump-ring");
		r = run("dump --pid " + self + " --map " + ring_pin.path);
		INFO(r.err);
		CHECK(r.status == 3);
		CHECK(r.err.find(ring_pin.path + " is not a task storage map: a user_ringbuf map\n") !=
		      std::string::npos);
	}
	close(ring);
	r = run("dump --pid " + self + " --map " + c.path);
	INFO(r.err);
	CHECK(r.status == 3);
	CHECK(r.err.find(c.path + " is a task storage map of another layout than task local "
				  "data's (value of 16 bytes; version 1 and variant B are known)\n") !=
	      std::string::npos);
	r = run("dump --pid " + self + " --map /sys/fs/bpf");
	INFO(r.err);
	CHECK(r.status == 3);
	CHECK(r.err.find("/sys/fs/bpf is a directory, not a pinned map") != std::string::npos);
	r = run("dump --pid " + self);
	CHECK(r.status == 2);
	r = run("frobnicate");
	CHECK(r.status == 2);
	CHECK(run("--help").status == 0);
}

TEST_CASE("tldctl options take their values as --name=VALUE or --name VALUE or -n VALUE")
{
	tldtest::reader verify(tldtest::reader::verify);
	tldtest::pin p(verify.data_map_fd(), "options");
	target t(p.path);
	std::string pid = std::to_string(t.pid);
	auto ref = run("dump --pid " + pid + " --map " + p.path + " --json");
	INFO(ref.all());
	REQUIRE(ref.status == 0);
	check_dump_of(t, ref.out);
	for (const std::string &args : {
		     "dump --pid=" + pid + " --map=" + p.path + " --json",
		     "dump -p " + pid + " -m " + p.path + " -j",
		     "dump -p" + pid + " -m" + p.path + " -j",
		     "dump --json --map " + p.path + " --pid " + pid,
	     }) {
		auto r = run(args);
		INFO(args << "\n" << r.all());
		CHECK(r.status == 0);
		CHECK(r.out == ref.out);
	}
	auto v = run("verify --threads=3 --keys=5");
	INFO(v.all());
	CHECK(v.status == 0);
	CHECK(v.out.find("3 threads x 5 TLDs") != std::string::npos);
	v = run("verify -t 2 -k 4");
	CHECK(v.status == 0);
	CHECK(v.out.find("2 threads x 4 TLDs") != std::string::npos);
	auto ps = run("ps --map=" + p.path + " --json");
	INFO(ps.all());
	CHECK(ps.status == 0);
	CHECK(ps.out == run("ps -j -m " + p.path).out);
}

TEST_CASE("tldctl help CMD and tldctl CMD --help print the same usage on stdout")
{
	for (const char *cmd : {"probe", "verify", "dump", "ps"}) {
		INFO(cmd);
		auto a = run(std::string("help ") + cmd);
		auto b = run(std::string(cmd) + " --help");
		auto c = run(std::string(cmd) + " -h");
		INFO(a.all() << "\n" << b.all());
		CHECK(a.status == 0);
		CHECK(b.status == 0);
		CHECK(c.status == 0);
		CHECK(a.err.empty());
		CHECK(b.err.empty());
		CHECK(a.out.rfind(std::string("usage: tldctl ") + cmd, 0) == 0);
		CHECK(a.out == b.out);
		CHECK(a.out == c.out);
	}
	auto all = run("--help");
	INFO(all.all());
	CHECK(all.status == 0);
	CHECK(all.err.empty());
	CHECK(run("help").out == all.out);
	CHECK(run("-h").out == all.out);
	for (const char *cmd : {"probe", "verify", "dump", "ps", "help"})
		CHECK(all.out.find(std::string("tldctl ") + cmd) != std::string::npos);
	auto v = run("--version");
	CHECK(v.status == 0);
	CHECK(v.out.rfind("tldctl ", 0) == 0);
}

TEST_CASE("tldctl usage errors exit 2 with a message and the command's usage on stderr")
{
	std::string map = "/sys/fs/bpf/tld-test-usage-" + std::to_string(getpid());
	const std::vector<std::pair<std::string, std::string>> cases = {
		{"dump --bogus --pid 1 --map " + map, "dump"},
		{"dump --pid", "dump"},
		{"dump --pid 1 --map", "dump"},
		{"dump --pid x --map " + map, "dump"},
		{"dump --pid=0 --map " + map, "dump"},
		{"dump --map " + map, "dump"},
		{"dump --pid 1", "dump"},
		{"dump --pid 1 --map " + map + " extra", "dump"},
		{"dump -x --pid 1 --map " + map, "dump"},
		{"dump --json=yes --pid 1 --map " + map, "dump"},
		{"verify --threads 0", "verify"},
		{"verify --keys 64", "verify"},
		{"verify --threads", "verify"},
		{"probe extra", "probe"},
		{"probe --bogus", "probe"},
		{"ps", "ps"},
		{"ps --map " + map + " --pid 1", "ps"},
		{"", ""},
		{"frobnicate", ""},
		{"--bogus", ""},
		{"help frobnicate", ""},
	};
	for (const auto &[args, cmd] : cases) {
		auto usage = run(cmd.empty() ? "--help" : "help " + cmd);
		REQUIRE(usage.status == 0);
		auto r = run(args);
		INFO("tldctl " << args << "\nstdout: " << r.out << "\nstderr: " << r.err);
		CHECK(r.status == 2);
		CHECK(r.out.empty());
		CHECK(r.err.rfind("tldctl", 0) == 0);	// a message first
		CHECK(r.err.find(usage.out) != std::string::npos);
	}
}

TEST_CASE("tldctl dump --json writes integers as numbers and large ones as strings and names as UTF-8")
{
	tldtest::reader verify(tldtest::reader::verify);
	tldtest::pin p(verify.data_map_fd(), "json");
	target t(p.path);
	auto r = run("dump --pid " + std::to_string(t.pid) + " --map " + p.path + " --json");
	INFO(r.all());
	REQUIRE(r.status == 0);
	auto f = parse_json(r.out);
	const std::string tid = t.tids.at(1);
	CHECK(get(f, tld_at(f, tid, "\"dump.tid\"") + ".value") == "number " + tid);
	CHECK(get(f, tld_at(f, tid, "\"dump.big\"") + ".value") ==
	      "string \"18364758544493064720\"");
	CHECK(get(f, tld_at(f, tid, "\"dump.safe\"") + ".value") == "number 9007199254740991");
	// Valid UTF-8 as it is, not escaped byte by byte.
	std::string utf8 = tld_at(f, tid, "\"dump.\xc3\xbcnicode.\xe2\x86\x92\"");
	CHECK(get(f, utf8 + ".value") == num(1));
	CHECK(f.count(utf8 + ".name_hex") == 0);
	CHECK(r.out.find("\"dump.\xc3\xbcnicode.\xe2\x86\x92\"") != std::string::npos);
	// Bytes that are not UTF-8: U+FFFD each in the name, every byte in name_hex.
	std::string bad = tld_at(f, tid, "\"dump.\xef\xbf\xbd\xef\xbf\xbd.bad\"");
	CHECK(get(f, bad + ".name_hex") == "string \"64756d702efffe2e626164\"");
	CHECK(get(f, bad + ".value") == num(2));
	// Control characters, quote and backslash escaped as JSON requires.
	std::string ctl = tld_at(f, tid, "\"dump.\\u0001tab\\t.\\\\\\\"\"");
	CHECK(get(f, ctl + ".value") == num(3));
	CHECK(r.out.find("\"dump.\\u0001tab\\t.\\\\\\\"\"") != std::string::npos);
	// The table: UTF-8 as it is, other bytes and control characters as \xHH.
	auto table = run("dump --pid " + std::to_string(t.pid) + " --map " + p.path);
	INFO(table.all());
	REQUIRE(table.status == 0);
	CHECK(table.out.find("dump.\xc3\xbcnicode.\xe2\x86\x92 ") != std::string::npos);
	CHECK(table.out.find("dump.\\xff\\xfe.bad ") != std::string::npos);
	CHECK(table.out.find("dump.\\x01tab\\x09.\\\" ") != std::string::npos);
	CHECK(table.out.find("18364758544493064720") != std::string::npos);
}

TEST_CASE("tldctl names a pinned program as such and a path outside bpffs as not in a bpf filesystem")
{
	tldtest::odd_maps odd;
	tldtest::pin prog(odd.prog(), "prog");
	temp_file plain("not a map");
	std::string self = std::to_string(getpid());
	for (const std::string &cmd : {"dump --pid " + self + " --map ", std::string("ps --map ")}) {
		auto r = run(cmd + prog.path);
		INFO(cmd << prog.path << "\n" << r.all());
		CHECK(r.status == 3);
		CHECK(r.err.find(prog.path + " is a program, not a map") != std::string::npos);
		r = run(cmd + plain.path);
		INFO(cmd << plain.path << "\n" << r.all());
		CHECK(r.status == 3);
		CHECK(r.err.find(plain.path + " is not in a bpf filesystem") != std::string::npos);
		CHECK(r.err.find("permission denied") == std::string::npos);
		r = run(cmd + plain.path + "-missing");
		INFO(r.all());
		CHECK(r.status == 3);
		CHECK(r.err.find(plain.path + "-missing is not in a bpf filesystem") !=
		      std::string::npos);
		r = run(cmd + plain.path + "-dir/map");
		INFO(r.all());
		CHECK(r.status == 3);
		CHECK(r.err.find(plain.path + "-dir/map: no such directory " + plain.path + "-dir") !=
		      std::string::npos);
	}
}

TEST_CASE("tldctl dump of a thread that is not the process leader dumps the thread's process")
{
	tldtest::reader verify(tldtest::reader::verify);
	tldtest::pin p(verify.data_map_fd(), "dump-thread");
	target t(p.path);
	const std::string tid = t.tids.at(0);
	REQUIRE(tid != std::to_string(t.pid));
	auto r = run("dump --pid " + tid + " --map " + p.path + " --json");
	INFO(r.all());
	REQUIRE(r.status == 0);
	check_dump_of(t, r.out);
	CHECK(get(parse_json(r.out), ".named_tid") == "number " + tid);
	auto table = run("dump --pid " + tid + " --map " + p.path);
	INFO(table.all());
	CHECK(table.status == 0);
	CHECK(table.out.find("thread " + tid + " of process " + std::to_string(t.pid)) !=
	      std::string::npos);
	CHECK(table.out.find("3 threads with task local data") != std::string::npos);
	// The leader itself names no thread.
	auto leader = run("dump --pid " + std::to_string(t.pid) + " --map " + p.path + " --json");
	REQUIRE(leader.status == 0);
	CHECK(parse_json(leader.out).count(".named_tid") == 0);
}

TEST_CASE("tldctl ps lists every process and thread that publishes in a map with its TLD count")
{
	tldtest::reader verify(tldtest::reader::verify);
	tldtest::reader b(tldtest::reader::proto_b);
	tldtest::pin p(verify.data_map_fd(), "ps-v1");
	tldtest::pin pb(b.data_map_fd(), "ps-b");
	auto none = run("ps --map " + p.path + " --json");
	INFO(none.all());
	REQUIRE(none.status == 0);
	CHECK(get(parse_json(none.out), ".processes") == "array 0");
	target t1(p.path), t2(p.path), tb(pb.path);
	auto r = run("ps --map " + p.path + " --json");
	INFO(r.all());
	REQUIRE(r.status == 0);
	auto f = parse_json(r.out);
	CHECK(get(f, ".layout") == "string \"version 1\"");
	CHECK(get(f, ".processes") == "array 2");	// not tb, not this process
	auto table = run("ps --map " + p.path);
	INFO(table.all());
	REQUIRE(table.status == 0);
	CHECK(table.out.find("2 processes, 6 threads") != std::string::npos);
	// The table with runs of spaces squeezed to one, for whole rows.
	std::string squeezed;
	for (char c : table.out)
		if (c != ' ' || squeezed.empty() || squeezed.back() != ' ')
			squeezed += c;
	for (const target *t : {&t1, &t2}) {
		std::string pid = std::to_string(t->pid);
		int i = index_of(f, ".processes", "pid", num(t->pid));
		INFO("process " << pid);
		REQUIRE(i >= 0);
		std::string pp = ".processes[" + std::to_string(i) + "]";
		CHECK(get(f, pp + ".comm") == "string \"dump-target\"");
		CHECK(get(f, pp + ".threads") == "array 3");
		for (std::size_t k = 0; k < t->tids.size(); ++k) {
			const std::string &tid = t->tids[k];
			const std::string comm = "dump-worker-" + std::to_string(k);
			int j = index_of(f, pp + ".threads", "tid", "number " + tid);
			INFO("thread " << tid);
			REQUIRE(j >= 0);
			std::string tp = pp + ".threads[" + std::to_string(j) + "]";
			CHECK(get(f, tp + ".tlds") == num(published_count));
			CHECK(get(f, tp + ".comm") == "string \"" + comm + "\"");
			std::ostringstream row;
			row << pid << " " << tid << " " << comm << " " << published_count;
			CHECK(squeezed.find(row.str() + "\n") != std::string::npos);
		}
	}
	auto rb = run("ps --map " + pb.path + " --json");
	INFO(rb.all());
	REQUIRE(rb.status == 0);
	auto fb = parse_json(rb.out);
	CHECK(get(fb, ".layout") == "string \"variant B\"");
	CHECK(get(fb, ".processes") == "array 1");
	CHECK(get(fb, ".processes[0].pid") == num(tb.pid));
	CHECK(get(fb, ".processes[0].threads") == "array 3");
	CHECK(get(fb, ".processes[0].threads[0].tlds") == num(published_count));
}

TEST_CASE("tldctl ps and dump take the count's low byte and bound it by the 63 slots with a warning")
{
	tldtest::reader verify(tldtest::reader::verify);
	tldtest::pin p(verify.data_map_fd(), "count");
	hand_written w;
	w.publish(verify.data_map_fd(), 16);
	const std::string self = std::to_string(getpid());
	const std::string ps = "ps --json --map " + p.path;
	const std::string dump = "dump --json --pid " + self + " --map " + p.path;
	const std::string thread = ".processes[0].threads[0]";

	w.meta->cnt = 0x0101;	// the high byte is not read
	auto r = run(ps);
	INFO(r.all());
	REQUIRE(r.status == 0);
	auto f = parse_json(r.out);
	CHECK(get(f, thread + ".tid") == num(getpid()));
	CHECK(get(f, thread + ".tlds") == num(1));
	CHECK(get(f, thread + ".problems") == "array 0");
	r = run(dump);
	INFO(r.all());
	REQUIRE(r.status == 0);
	f = parse_json(r.out);
	CHECK(get(f, ".threads[0].tlds") == "array 1");
	CHECK(get(f, ".threads[0].tlds[0].value") == num(7));
	CHECK(get(f, ".threads[0].problems") == "array 0");

	w.meta->cnt = 200;
	r = run(ps);
	INFO(r.all());
	REQUIRE(r.status == 0);
	f = parse_json(r.out);
	CHECK(get(f, thread + ".tlds") == num(63));
	CHECK(get(f, thread + ".problems") == "array 1");
	CHECK(get(f, thread + ".problems[0]") == "string \"count 200 above 63\"");
	auto table = run("ps --map " + p.path);
	INFO(table.all());
	CHECK(table.out.find("warning: count 200 above 63\n") != std::string::npos);
	r = run(dump);
	INFO(r.all());
	REQUIRE(r.status == 0);
	f = parse_json(r.out);
	CHECK(get(f, ".threads[0].tlds") == "array 1");
	CHECK(get(f, ".threads[0].problems") == "array 2");
	CHECK(get(f, ".threads[0].problems[0]") == "string \"count 200 above 63\"");
	CHECK(get(f, ".threads[0].problems[1]") == "string \"slot 1 not published\"");
}

TEST_CASE("tldctl dump takes start from the map value of a variant B map and from the page of a version 1 map")
{
	tldtest::reader b(tldtest::reader::proto_b);
	tldtest::reader v1(tldtest::reader::verify);
	tldtest::pin pb(b.data_map_fd(), "start-b");
	tldtest::pin pv1(v1.data_map_fd(), "start-v1");
	hand_written w;	// the page's first word: 8
	const std::string self = std::to_string(getpid());
	auto dump = [&](const tldtest::pin &p) {
		auto r = run("dump --json --pid " + self + " --map " + p.path);
		INFO(r.all());
		REQUIRE(r.status == 0);
		return parse_json(r.out);
	};
	w.publish(b.data_map_fd(), 24, 16);
	auto f = dump(pb);
	CHECK(get(f, ".layout") == "string \"variant B\"");
	CHECK(get(f, ".threads[0].tlds[0].offset") == num(16));
	CHECK(get(f, ".threads[0].problems") == "array 0");
	// Variant B readers never look at the page's word: a start of 0 in
	// the value is outside the page, whatever the page holds.
	w.publish(b.data_map_fd(), 24, 0);
	f = dump(pb);
	CHECK(get(f, ".threads[0].problems") == "array 1");
	CHECK(get(f, ".threads[0].problems[0]") == "string \"data offset 0 outside the page\"");
	// Version 1 readers take the page's word.
	w.data->start = 24;
	w.publish(v1.data_map_fd(), 16);
	f = dump(pv1);
	CHECK(get(f, ".layout") == "string \"version 1\"");
	CHECK(get(f, ".threads[0].tlds[0].offset") == num(24));
	CHECK(get(f, ".threads[0].problems") == "array 0");
	w.data->start = 0;
	f = dump(pv1);
	CHECK(get(f, ".threads[0].problems[0]") == "string \"data offset 0 outside the page\"");
}
