// tldctl dump: every thread of a live process and each of its published
// TLDs, read through a pinned task storage map by a BPF task iterator.
// Works for any writer of the layout (libtld or another), for version 1 and
// variant B maps.
#include <linux/types.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "parse.hpp"
#include "text.hpp"
#include "tld_dump.h"
#include "tldctl.hpp"

namespace tldctl {
namespace {

struct thread_dump {
	tld_dump_head head;
	parsed tlds;
};

// Split the iterator's output, read from a map of the layout `variant_b`
// says, into per-thread records.
bool split_records(const std::vector<std::uint8_t> &buf, bool variant_b,
		   std::vector<thread_dump> &out, std::string &err)
{
	std::size_t at = 0;
	while (at < buf.size()) {
		thread_dump d;
		if (buf.size() - at < sizeof(d.head)) {
			err = "short record from the iterator";
			return false;
		}
		std::memcpy(&d.head, buf.data() + at, sizeof(d.head));
		at += sizeof(d.head);
		if (d.head.magic != TLD_DUMP_MAGIC) {
			err = "unexpected record from the iterator";
			return false;
		}
		std::span<const std::uint8_t> meta, data;
		std::size_t need = (d.head.has_meta ? TLD_DUMP_META_BYTES : 0) +
				   (d.head.has_data ? TLD_DUMP_DATA_BYTES : 0);
		if (buf.size() - at < need) {
			err = "truncated record from the iterator";
			return false;
		}
		if (d.head.has_meta) {
			meta = {buf.data() + at, TLD_DUMP_META_BYTES};
			at += TLD_DUMP_META_BYTES;
		}
		if (d.head.has_data) {
			data = {buf.data() + at, TLD_DUMP_DATA_BYTES};
			at += TLD_DUMP_DATA_BYTES;
		}
		// Where the data area starts: variant B keeps it in the map
		// value (the header's copy), version 1 in the page's first word.
		std::uint64_t start = d.head.start;
		if (!variant_b && !data.empty())
			std::memcpy(&start, data.data() + offsetof(tld_data_u, start), sizeof(start));
		if (meta.empty() || data.empty())
			d.tlds.problems.push_back("the map element has no metadata or data page");
		else
			d.tlds = parse_tlds(meta, data, start);
		out.push_back(std::move(d));
	}
	return true;
}

// The process that thread `tid` belongs to, from the Tgid line of
// /proc/TID/status: 0 with `tgid` set, or -ESRCH.  Without /proc, a thread
// that kill(2) finds is taken for its process.
int process_of(long tid, long &tgid)
{
	char path[64];
	std::snprintf(path, sizeof(path), "/proc/%ld/status", tid);
	if (FILE *f = std::fopen(path, "re")) {
		char line[256];
		long found = -1;
		while (found < 0 && std::fgets(line, sizeof(line), f))
			if (std::sscanf(line, "Tgid: %ld", &found) != 1)
				found = -1;
		std::fclose(f);
		if (found > 0) {
			tgid = found;
			return 0;
		}
		return -ESRCH;	// gone while reading
	}
	if (kill(static_cast<pid_t>(tid), 0) != 0 && errno == ESRCH)
		return -ESRCH;
	tgid = tid;
	return 0;
}

// "process 42" or "thread 43 of process 42": what the operator named.
std::string named_as(long pid, long named)
{
	if (named == pid)
		return "process " + std::to_string(pid);
	return "thread " + std::to_string(named) + " of process " + std::to_string(pid);
}

void print_table(long pid, long named, const char *path, const char *layout,
		 const std::vector<thread_dump> &threads)
{
	std::printf("%s, map %s (%s layout): %zu thread%s with task local data\n",
		    named_as(pid, named).c_str(), table_text(path).c_str(), layout, threads.size(),
		    threads.size() == 1 ? "" : "s");
	if (threads.empty())
		return;
	std::printf("%-8s %-16s %-40s %6s  %s\n", "TID", "COMM", "TLD", "SIZE", "VALUE");
	for (const auto &t : threads) {
		std::string comm = pad(table_text(field_text(t.head.comm)), 16);
		if (t.tlds.entries.empty())
			std::printf("%-8u %s %s\n", t.head.tid, comm.c_str(), "(none published)");
		for (const auto &e : t.tlds.entries)
			std::printf("%-8u %s %s %6zu  %s\n", t.head.tid, comm.c_str(),
				    pad(table_text(e.name), 40).c_str(), e.size,
				    e.truncated ? "(runs past the page)" : format_value(e.value).c_str());
		for (const auto &p : t.tlds.problems)
			std::printf("%-8u %s warning: %s\n", t.head.tid, comm.c_str(), p.c_str());
	}
}

// A TLD's value in JSON: integers as numbers (json_u64()), other values as
// the hex string of the table, null when the value runs past the page.
std::string json_value(const tld_entry &e)
{
	std::uint64_t n;
	if (e.truncated)
		return "null";
	if (as_integer(e.value, n))
		return json_u64(n);
	return json_string(format_value(e.value));
}

void print_json(long pid, long named, const char *path, const char *layout,
		const std::vector<thread_dump> &threads)
{
	std::printf("{\"pid\":%ld,", pid);
	if (named != pid)
		std::printf("\"named_tid\":%ld,", named);
	std::printf("%s,\"layout\":\"%s\",\"threads\":[", json_text_member("map", path).c_str(),
		    layout);
	for (std::size_t i = 0; i < threads.size(); ++i) {
		const auto &t = threads[i];
		std::printf("%s{\"tid\":%u,%s,\"tlds\":[", i ? "," : "", t.head.tid,
			    json_text_member("comm", field_text(t.head.comm)).c_str());
		for (std::size_t j = 0; j < t.tlds.entries.size(); ++j) {
			const auto &e = t.tlds.entries[j];
			std::printf("%s{%s,\"size\":%zu,\"offset\":%zu,\"value\":%s}", j ? "," : "",
				    json_text_member("name", e.name).c_str(), e.size, e.page_off,
				    json_value(e).c_str());
		}
		std::printf("],\"problems\":[");
		for (std::size_t j = 0; j < t.tlds.problems.size(); ++j)
			std::printf("%s%s", j ? "," : "", json_string(t.tlds.problems[j]).c_str());
		std::printf("]}");
	}
	std::printf("]}\n");
}

int run_dump(const command &self, int argc, char **argv)
{
	long pid = -1;
	const char *path = nullptr;
	bool json = false;
	int r = parse_options(self, argc, argv,
			      {{"pid", required_argument, nullptr, 'p'},
			       {"map", required_argument, nullptr, 'm'},
			       {"json", no_argument, nullptr, 'j'}},
			      [&](int v, const char *arg) -> std::string {
				      if (v == 'p' && !parse_count(arg, 1, 0x3fffffff, pid))
					      return "--pid takes a process id, not '" + std::string(arg) + "'";
				      if (v == 'm')
					      path = arg;
				      if (v == 'j')
					      json = true;
				      return "";
			      });
	if (r >= 0)
		return r;
	if (pid < 0)
		return usage_error(self, "--pid is required");
	if (!path)
		return usage_error(self, "--map is required");
	// A thread id names the thread's process: the task iterator lists the
	// threads of a process given by its leader, and none for another tid.
	long named = pid;
	if (process_of(named, pid) != 0) {
		std::fprintf(stderr, "tldctl dump: no such process: %ld\n", named);
		return exit_error;
	}
	std::vector<std::uint8_t> buf;
	bool variant_b = false;
	if (int err = run_iterator("dump", iterator::dump, path, static_cast<__u32>(pid), buf,
				   variant_b))
		return err;
	std::vector<thread_dump> threads;
	std::string problem;
	if (!split_records(buf, variant_b, threads, problem)) {
		std::fprintf(stderr, "tldctl dump: %s\n", problem.c_str());
		return exit_error;
	}
	if (json)
		print_json(pid, named, path, layout_name(variant_b), threads);
	else
		print_table(pid, named, path, layout_name(variant_b), threads);
	return exit_ok;
}

} // namespace

const command dump_command = {
	"dump",
	"dump -p PID -m PATH [-j]",
	"every thread of a process and its TLDs, through a pinned map",
	"Lists every thread of process PID that has an element in the task\n"
	"storage map pinned at PATH, and each TLD the process published, by name,\n"
	"size and value.  Version 1 and variant B maps are read.  A PID that is a\n"
	"thread of another process names that process (the output says so).\n"
	"\n"
	"  -p, --pid PID     the process, or one of its threads\n"
	"  -m, --map PATH    the pinned task storage map, in a bpf filesystem\n"
	"  -j, --json        one JSON object instead of the table\n"
	"  -h, --help        show this text\n",
	run_dump,
};

} // namespace tldctl
