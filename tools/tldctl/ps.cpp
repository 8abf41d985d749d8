// tldctl ps: every process and thread that has an element in a pinned task
// local data map, with its TLD count: who publishes here.  One task
// iterator over every task of the system writes a header per element.
#include <linux/types.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "parse.hpp"
#include "text.hpp"
#include "tld_dump.h"
#include "tldctl.hpp"

namespace tldctl {
namespace {

struct publisher {
	std::string comm;			// the leader thread's name
	std::vector<tld_dump_head> threads;	// by thread id
};

// One thread's element as ps shows it: its TLD count and what is odd about it.
struct element {
	std::size_t count;
	std::vector<std::string> problems;
};

element element_of(const tld_dump_head &h)
{
	element e;
	if (!h.has_meta)
		e.problems.push_back("the map element has no metadata page");
	if (!h.has_data)
		e.problems.push_back("the map element has no data page");
	e.count = published_count(h.count_byte, e.problems);
	return e;
}

bool collect(const std::vector<std::uint8_t> &buf, std::map<__u32, publisher> &out,
	     std::string &err)
{
	if (buf.size() % sizeof(tld_dump_head)) {
		err = "truncated record from the iterator";
		return false;
	}
	for (std::size_t at = 0; at < buf.size(); at += sizeof(tld_dump_head)) {
		tld_dump_head h;
		std::memcpy(&h, buf.data() + at, sizeof(h));
		if (h.magic != TLD_PS_MAGIC) {
			err = "unexpected record from the iterator";
			return false;
		}
		publisher &p = out[h.tgid];
		if (p.threads.empty())
			p.comm = field_text(h.leader_comm);
		p.threads.push_back(h);
	}
	return true;
}

std::size_t thread_count(const std::map<__u32, publisher> &procs)
{
	std::size_t n = 0;
	for (const auto &p : procs)
		n += p.second.threads.size();
	return n;
}

void print_table(const char *path, const char *layout, const std::map<__u32, publisher> &procs)
{
	std::size_t threads = thread_count(procs);
	std::printf("map %s (%s layout): %zu process%s, %zu thread%s with task local data\n",
		    table_text(path).c_str(), layout, procs.size(), procs.size() == 1 ? "" : "es",
		    threads, threads == 1 ? "" : "s");
	if (procs.empty())
		return;
	std::printf("%-8s %-8s %-16s %s\n", "PID", "TID", "COMM", "TLDS");
	for (const auto &[pid, p] : procs) {
		for (const auto &t : p.threads) {
			std::string comm = pad(table_text(field_text(t.comm)), 16);
			const element e = element_of(t);
			std::printf("%-8u %-8u %s %zu\n", pid, t.tid, comm.c_str(), e.count);
			for (const auto &w : e.problems)
				std::printf("%-8u %-8u %s warning: %s\n", pid, t.tid, comm.c_str(),
					    w.c_str());
		}
	}
}

void print_json(const char *path, const char *layout, const std::map<__u32, publisher> &procs)
{
	std::printf("{%s,\"layout\":\"%s\",\"processes\":[", json_text_member("map", path).c_str(),
		    layout);
	bool first = true;
	for (const auto &[pid, p] : procs) {
		std::printf("%s{\"pid\":%u,%s,\"threads\":[", first ? "" : ",", pid,
			    json_text_member("comm", p.comm).c_str());
		first = false;
		for (std::size_t i = 0; i < p.threads.size(); ++i) {
			const auto &t = p.threads[i];
			const element e = element_of(t);
			std::printf("%s{\"tid\":%u,%s,\"tlds\":%zu,\"problems\":[", i ? "," : "", t.tid,
				    json_text_member("comm", field_text(t.comm)).c_str(), e.count);
			for (std::size_t j = 0; j < e.problems.size(); ++j)
				std::printf("%s%s", j ? "," : "", json_string(e.problems[j]).c_str());
			std::printf("]}");
		}
		std::printf("]}");
	}
	std::printf("]}\n");
}

int run_ps(const command &self, int argc, char **argv)
{
	const char *path = nullptr;
	bool json = false;
	int r = parse_options(self, argc, argv,
			      {{"map", required_argument, nullptr, 'm'},
			       {"json", no_argument, nullptr, 'j'}},
			      [&](int v, const char *arg) {
				      if (v == 'm')
					      path = arg;
				      else
					      json = true;
				      return std::string();
			      });
	if (r >= 0)
		return r;
	if (!path)
		return usage_error(self, "--map is required");
	std::vector<std::uint8_t> buf;
	bool variant_b = false;
	if (int err = run_iterator("ps", iterator::ps, path, 0, buf, variant_b))
		return err;
	std::map<__u32, publisher> procs;
	std::string problem;
	if (!collect(buf, procs, problem)) {
		std::fprintf(stderr, "tldctl ps: %s\n", problem.c_str());
		return exit_error;
	}
	if (json)
		print_json(path, layout_name(variant_b), procs);
	else
		print_table(path, layout_name(variant_b), procs);
	return exit_ok;
}

} // namespace

const command ps_command = {
	"ps",
	"ps -m PATH [-j]",
	"every process and thread that publishes in a pinned map",
	"Lists every process and thread of the system that has an element in the\n"
	"task storage map pinned at PATH, with the number of TLDs its process\n"
	"published (the metadata page's count).  Version 1 and variant B maps are\n"
	"read.\n"
	"\n"
	"  -m, --map PATH    the pinned task storage map, in a bpf filesystem\n"
	"  -j, --json        one JSON object instead of the table\n"
	"  -h, --help        show this text\n",
	run_ps,
};

} // namespace tldctl
