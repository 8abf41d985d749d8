// tldctl against live processes and maps.  TLDCTL and DUMP_TARGET name the
// built programs (see meson.build).
#include <bpf/bpf.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "bpftest.hpp"

namespace {

struct result {
	int status;
	std::string out;
};

result run(const std::string &args)
{
	const char *tldctl = std::getenv("TLDCTL");
	REQUIRE(tldctl != nullptr);
	std::string cmd = std::string(tldctl) + " " + args + " 2>&1";
	FILE *p = popen(cmd.c_str(), "r");
	REQUIRE(p != nullptr);
	std::string out;
	char buf[4096];
	std::size_t n;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		out.append(buf, n);
	int st = pclose(p);
	return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

// A pinned map that disappears with the test.
// dump_target running with TLD_MAP set; its threads wait until destruction.
struct target {
	pid_t pid = -1;
	int to_child = -1;
	std::vector<std::string> tids;
	explicit target(const std::string &map_path)
	{
		const char *exe = std::getenv("DUMP_TARGET");
		REQUIRE(exe != nullptr);
		int in[2], out[2];
		REQUIRE(pipe2(in, O_CLOEXEC) == 0);
		REQUIRE(pipe2(out, O_CLOEXEC) == 0);
		pid = fork();
		REQUIRE(pid >= 0);
		if (pid == 0) {
			dup2(in[0], 0);
			dup2(out[1], 1);
			setenv("TLD_MAP", map_path.c_str(), 1);
			execl(exe, exe, static_cast<char *>(nullptr));
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

void check_dump_of(const target &t, const std::string &json)
{
	REQUIRE(t.tids.size() == 3);
	for (std::size_t i = 0; i < t.tids.size(); ++i) {
		INFO("thread " << t.tids[i] << " in " << json);
		CHECK(json.find("{\"tid\":" + t.tids[i] + ",") != std::string::npos);
		CHECK(json.find("{\"name\":\"dump.tid\",\"size\":4,\"offset\":8,\"value\":\"" +
				t.tids[i] + "\"}") != std::string::npos);
		CHECK(json.find("{\"name\":\"dump.small\",\"size\":2,\"offset\":16,\"value\":\"" +
				std::to_string(1000 + i) + "\"}") != std::string::npos);
		std::string blob = "0x";
		for (int b = 0; b < 12; ++b)
			blob += "a" + std::to_string(i);
		CHECK(json.find("\"value\":\"" + blob + "\"") != std::string::npos);
	}
}

} // namespace

TEST_CASE("tldctl probe says task local data works on this kernel")
{
	auto r = run("probe");
	INFO(r.out);
	CHECK(r.status == 0);
	CHECK(r.out.find("task local data works here") != std::string::npos);
	CHECK(r.out.find("FAIL") == std::string::npos);
}

TEST_CASE("tldctl verify compares every byte of many threads and keys")
{
	auto r = run("verify --threads 16 --keys 63");
	INFO(r.out);
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
	tldtest::reader verify(tldtest::reader::verify);
	tldtest::pin p(verify.data_map_fd(), "dump-v1");
	target t(p.path);
	auto r = run("dump --pid " + std::to_string(t.pid) + " --map " + p.path + " --json");
	INFO(r.out);
	REQUIRE(r.status == 0);
	CHECK(r.out.find("\"layout\":\"version 1\"") != std::string::npos);
	check_dump_of(t, r.out);
	auto table = run("dump --pid " + std::to_string(t.pid) + " --map " + p.path);
	INFO(table.out);
	CHECK(table.status == 0);
	CHECK(table.out.find("3 threads with task local data") != std::string::npos);
}

TEST_CASE("tldctl dump lists every thread's TLDs through a variant B map")
{
	tldtest::reader b(tldtest::reader::proto_b);
	tldtest::pin p(b.data_map_fd(), "dump-b");
	target t(p.path);
	auto r = run("dump --pid " + std::to_string(t.pid) + " --map " + p.path + " --json");
	INFO(r.out);
	REQUIRE(r.status == 0);
	CHECK(r.out.find("\"layout\":\"variant B\"") != std::string::npos);
	check_dump_of(t, r.out);
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
	CHECK(r.out.find("no such process") != std::string::npos);
	r = run("dump --pid " + self + " --map " + good.path + "-missing");
	CHECK(r.status == 3);
	CHECK(r.out.find("no map pinned there") != std::string::npos);
	r = run("dump --pid " + self + " --map " + array.path);
	CHECK(r.status == 3);
	CHECK(r.out.find("not a task storage map") != std::string::npos);
	r = run("dump --pid " + self + " --map " + c.path);
	CHECK(r.status == 3);
	CHECK(r.out.find("layout tldctl does not read") != std::string::npos);
	r = run("dump --pid " + self);
	CHECK(r.status == 2);
	r = run("frobnicate");
	CHECK(r.status == 2);
	CHECK(run("--help").status == 0);
}
