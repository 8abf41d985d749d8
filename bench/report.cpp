// The report (report.hpp).
#include "report.hpp"

#include <dlfcn.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

namespace bench {
namespace {

// ---- statistics and output -----------------------------------------------------

struct stat3 {
	double med = 0, min = 0, max = 0;
	bool ok = false;
};

stat3 stats(const std::vector<double> &v)
{
	stat3 s;
	if (v.empty())
		return s;
	std::vector<double> w = v;
	std::sort(w.begin(), w.end());
	const std::size_t n = w.size();
	s.med = n % 2 ? w[n / 2] : (w[n / 2 - 1] + w[n / 2]) / 2;
	s.min = w.front();
	s.max = w.back();
	s.ok = true;
	return s;
}

struct figure {
	const char *key;
	const char *unit;
	const char *how;
};

const figure figures[] = {
	{"store_ns", "ns", "floor: store through a plain `__thread` pointer"},
	{"upstream_get_data_ns", "ns",
	 "the upstream header's fast path: a `__thread` block pointer checked for NULL, plus the key's offset, + store"},
	{"tld_data_ns", "ns", "`tld_data(key)` + store as a consumer compiles it against <tld/tld.h>"},
	{"tld_data_symbol_ns", "ns", "the exported `tld_data` symbol called through a pointer (dlsym)"},
	{"tld_get_data_ns", "ns", "`tld_get_data(fd, key)` + store, one map"},
	{"tld_get_data_2maps_ns", "ns", "the same, alternating between 2 registered maps"},
	{"tld_get_data_8maps_ns", "ns", "the same, alternating between 8 registered maps"},
	{"cached_ptr_ns", "ns", "store through a pointer obtained once"},
	{"map_update_ns", "ns", "`bpf_map_update_elem()` on a hash map keyed by tid"},
	{"thread_plain_us", "us", "`pthread_create` + `pthread_join`, default attributes"},
	{"thread_tld_us", "us", "the same, the thread calls `tld_data()` once (1 map registered)"},
	{"thread_floor_register_us", "us",
	 "no libtld: the thread makes the system calls of a registration itself "
	 "(gettid, pidfd_open, map update, close)"},
	{"thread_floor_us", "us",
	 "no libtld: the same, and the delete before it ends (pidfd_open, map delete, close)"},
	{"syscall_gettid_us", "us", "one `gettid` system call"},
	{"syscall_pidfd_us", "us", "`pidfd_open(tid, PIDFD_THREAD)` + `close`"},
	{"syscall_storage_us", "us",
	 "creating and deleting a task storage element that pins a page (update + delete)"},
	{"thread_tld_nomap_us", "us", "the same with no map registered (for attribution)"},
	{"thread_plain_cpu_us", "us", "process CPU time per plain thread (less sensitive to other load)"},
	{"thread_tld_cpu_us", "us", "process CPU time per thread with a first lookup (1 map)"},
	{"thread_plain_nomap_cpu_us", "us", "process CPU time per plain thread, measured beside the next"},
	{"thread_tld_nomap_cpu_us", "us", "process CPU time per thread with a first lookup, no map"},
	{"rss_per_thread_bytes", "B",
	 "(RSS with 10,000 threads holding a block - RSS before) - (the same without blocks), "
	 "/ 10,000; 64 KiB stacks; RSS from /proc/self/statm; fresh process per sample"},
	{"key_create_us", "us", "63 `tld_create_key()` from one thread, fresh process per sample"},
	{"key_create_race_us", "us",
	 "63 keys from 8 racing threads, first start to last finish, fresh process per sample"},
	{"bpf_cached_ns", "ns", "`tld_object_init` + `tld_get_data` of a cached key, per bpf_loop iteration"},
	{"bpf_cached_upstream_ns", "ns", "the same, upstream's way (inline init, `bpf_for` retry loop)"},
	{"bpf_uncached_first_ns", "ns", "lookup by name of the 1st TLD, cache entry reset to 0 each time"},
	{"bpf_uncached_first_helper_ns", "ns", "the same, a `bpf_strncmp` per slot (upstream's way)"},
	{"bpf_uncached_last_ns", "ns", "lookup by name of the 63rd TLD (distinct 8-byte prefixes)"},
	{"bpf_uncached_last_helper_ns", "ns", "the same, a `bpf_strncmp` per slot (upstream's way)"},
	{"bpf_uncached_first_sameprefix_ns", "ns", "1st TLD, names share 14 bytes (`app.component.xx`)"},
	{"bpf_uncached_last_sameprefix_ns", "ns", "63rd TLD, names share 14 bytes"},
	{"bpf_uncached_last_sameprefix_helper_ns", "ns", "the same, a `bpf_strncmp` per slot"},
	{"verifier_sites_1", "insns", "instructions the verifier processed: a tp_btf program, 1 lookup"},
	{"verifier_sites_4", "insns", "the same, 4 lookups of 17-byte names in a row"},
	{"verifier_sites_16", "insns", "the same, 16 lookups"},
	{"verifier_sites_64", "insns", "the same, 64 lookups"},
	{"verifier_ref_sites_1", "insns", "1 lookup, the reference (upstream's way)"},
	{"verifier_ref_sites_4", "insns", "4 lookups, the reference"},
	{"verifier_ref_sites_16", "insns", "16 lookups, the reference"},
	{"verifier_ref_sites_64", "insns", "64 lookups, the reference"},
};

struct goal {
	const char *text;
	const char *num, *den;
	double target;
	bool at_most;
};

const goal goals[] = {
	{"tld_data_ns at most 4x store_ns", "tld_data_ns", "store_ns", 4.0, true},
	{"tld_data_ns at most 1.0x upstream_get_data_ns", "tld_data_ns", "upstream_get_data_ns", 1.0,
	 true},
	{"tld_get_data_ns at most 1.0x upstream_get_data_ns", "tld_get_data_ns",
	 "upstream_get_data_ns", 1.0, true},
	{"tld_get_data_ns at most 1.2x tld_data_ns", "tld_get_data_ns", "tld_data_ns", 1.2, true},
	{"tld_get_data_2maps_ns at most 1.5x tld_get_data_ns", "tld_get_data_2maps_ns",
	 "tld_get_data_ns", 1.5, true},
	{"tld_get_data_8maps_ns at most 1.5x tld_get_data_ns", "tld_get_data_8maps_ns",
	 "tld_get_data_ns", 1.5, true},
	{"map_update_ns at least 100x tld_data_ns", "map_update_ns", "tld_data_ns", 100.0, false},
	{"thread_tld_us at most 1.05x thread_floor_us", "thread_tld_us", "thread_floor_us", 1.05,
	 true},
	{"(diagnostic) thread_tld_us over thread_plain_us", "thread_tld_us", "thread_plain_us", 1.10,
	 true},
	{"(diagnostic) the same in process CPU time", "thread_tld_cpu_us", "thread_plain_cpu_us", 1.10,
	 true},
	{"(diagnostic) the system calls of a registration alone, over thread_plain_us",
	 "thread_floor_register_us", "thread_plain_us", 1.10, true},
	{"bpf_uncached_last_helper_ns at least 5x bpf_uncached_last_ns",
	 "bpf_uncached_last_helper_ns", "bpf_uncached_last_ns", 5.0, false},
	{"bpf_cached_ns no worse than bpf_cached_upstream_ns", "bpf_cached_ns",
	 "bpf_cached_upstream_ns", 1.0, true},
	{"rss_per_thread_bytes at most 4096+512", "rss_per_thread_bytes", nullptr, 4608.0, true},
	{"verifier_sites_16 at most 60000", "verifier_sites_16", nullptr, 60000.0, true},
	{"verifier_sites_64 at most 120000", "verifier_sites_64", nullptr, 120000.0, true},
};

std::string fmt(double v)
{
	char b[32];
	if (v >= 1000)
		std::snprintf(b, sizeof(b), "%.0f", v);
	else if (v >= 10)
		std::snprintf(b, sizeof(b), "%.1f", v);
	else
		std::snprintf(b, sizeof(b), "%.2f", v);
	return b;
}

std::string library_path()
{
	Dl_info di;
	// tld_create_key: tld_data() may be an inline copy in this program.
	if (dladdr(reinterpret_cast<void *>(&tld_create_key), &di) && di.dli_fname)
		return di.dli_fname;
	return "?";
}

} // namespace

std::string loadavg()
{
	char b[64] = "?";
	if (FILE *f = std::fopen("/proc/loadavg", "r")) {
		if (!std::fgets(b, sizeof(b), f))
			b[0] = 0;
		std::fclose(f);
	}
	// The three averages only.
	std::string l = b;
	for (int i = 0, at = 0; i < 3; ++i) {
		std::size_t sp = l.find(' ', at);
		if (sp == std::string::npos)
			return l;
		if (i == 2)
			return l.substr(0, sp);
		at = static_cast<int>(sp) + 1;
	}
	return l;
}

int print_results(const samples &s, const std::vector<std::string> &info, const char *json,
		  bool partial, const std::string &load_before)
{
	std::map<std::string, stat3> st;
	for (const auto &[k, v] : s)
		st[k] = stats(v);
	utsname u;
	uname(&u);
	std::printf("## libtld benchmark\n\nkernel %s, %ld CPUs, libtld from %s; "
		    "median of %d (in-process), %d (one process each) or %d (BPF: %d loads x %d) "
		    "samples; load average before: %s, after: %s\n\n",
		    u.release, sysconf(_SC_NPROCESSORS_ONLN), library_path().c_str(), reps,
		    child_reps, bpf_loads * bpf_reps, bpf_loads, bpf_reps, load_before.c_str(),
		    loadavg().c_str());
	std::printf("| figure | median | min-max | unit | how |\n|---|---:|---:|---|---|\n");
	int missing = 0;
	for (const auto &f : figures) {
		auto it = st.find(f.key);
		if (it == st.end() || !it->second.ok) {
			if (partial)
				continue;
			std::printf("| %s | n/a | | %s | %s |\n", f.key, f.unit, f.how);
			++missing;
			continue;
		}
		const stat3 &x = it->second;
		std::printf("| %s | %s | %s-%s | %s | %s |\n", f.key, fmt(x.med).c_str(),
			    fmt(x.min).c_str(), fmt(x.max).c_str(), f.unit, f.how);
	}
	std::string rows;
	for (const auto &g : goals) {
		auto n = st.find(g.num);
		auto d = g.den ? st.find(g.den) : st.end();
		char line[320];
		if (n == st.end() || (g.den && d == st.end())) {
			if (partial)
				continue;
			std::snprintf(line, sizeof(line), "| %s | n/a | n/a | | n/a |\n", g.text);
		} else {
			// Samples of the two figures with the same index were taken
			// side by side (same repetition, same process): their ratios
			// cancel load that comes and goes, which a ratio of medians
			// taken minutes apart does not.  The goal is judged on the
			// median of those ratios.
			double r = g.den ? n->second.med / d->second.med : n->second.med;
			double paired = r;
			std::string paired_text = "-";
			if (g.den) {
				const auto &a = s.at(g.num), &b = s.at(g.den);
				if (a.size() == b.size()) {
					std::vector<double> q;
					for (std::size_t i = 0; i < a.size(); ++i)
						q.push_back(a[i] / b[i]);
					paired = stats(q).med;
					paired_text = fmt(paired) + "x";
				}
			}
			bool met = g.at_most ? paired <= g.target : paired >= g.target;
			std::string unit = "x";
			if (!g.den)
				for (const auto &f : figures)
					if (!std::strcmp(f.key, g.num))
						unit = std::string(" ") + f.unit;
			std::snprintf(line, sizeof(line), "| %s | %s%s | %s | %s%s | %s |\n", g.text,
				      fmt(r).c_str(), unit.c_str(), paired_text.c_str(),
				      g.at_most ? "<= " : ">= ", fmt(g.target).c_str(),
				      met ? "yes" : "**no**");
		}
		rows += line;
	}
	if (!rows.empty())
		std::printf("\n| goal | ratio of medians | median of paired ratios | target | met |\n"
			    "|---|---:|---:|---:|---|\n%s",
			    rows.c_str());
	if (!info.empty()) {
		std::printf("\nBPF programs (instructions after verification / JIT bytes / "
			    "instructions the verifier processed):\n\n");
		for (const auto &i : info)
			std::printf("    %s\n", i.c_str());
	}
	if (json) {
		FILE *f = std::fopen(json, "w");
		if (!f)
			die("writing %s: %s", json, std::strerror(errno));
		std::fprintf(f, "{\n");
		bool first = true;
		for (const auto &fg : figures) {
			auto it = st.find(fg.key);
			if (it == st.end() || !it->second.ok)
				continue;
			std::fprintf(f, "%s  \"%s\": %.6g", first ? "" : ",\n", fg.key, it->second.med);
			first = false;
		}
		std::fprintf(f, "\n}\n");
		std::fclose(f);
	}
	return missing ? 1 : 0;
}

} // namespace bench
