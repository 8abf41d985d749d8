// tld-bench: every figure of bench/run.sh, measured in one run and printed as
// a Markdown table (median of repetitions, min-max spread), optionally also
// as JSON.  Figures are printed, never asserted.  The timed loops are in
// kernels.cpp, the child-process protocol in children.cpp, the report in
// report.cpp.
#include <cstring>
#include <string>
#include <vector>

#include "children.hpp"
#include "common.hpp"
#include "measure.hpp"
#include "report.hpp"

using namespace bench;

int main(int argc, char **argv)
{
	if (argc > 1 && !std::strcmp(argv[1], "--child"))
		return run_child(argc, argv);
	const char *json = nullptr;
	std::string only = "keys,bpf,verifier,rss,stores,threads";
	for (int i = 1; i < argc; ++i) {
		if (!std::strcmp(argv[i], "--json") && i + 1 < argc)
			json = argv[++i];
		else if (!std::strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else
			die("usage: tld-bench [--json PATH] [--only keys,bpf,verifier,rss,stores,threads]");
	}
	auto want = [&](const char *section) {
		std::size_t len = std::strlen(section);
		for (std::size_t at = 0; at <= only.size();) {
			std::size_t end = only.find(',', at);
			if (end == std::string::npos)
				end = only.size();
			if (end - at == len && !only.compare(at, len, section))
				return true;
			at = end + 1;
		}
		return false;
	};

	const std::string load_before = loadavg();
	samples s;
	std::vector<std::string> info;
	if (want("keys"))
		for (int r = 0; r < child_reps; ++r) {
			spawn({"keys", "1"}, s);
			spawn({"keys", "8"}, s);
		}
	if (want("bpf"))
		for (int r = 0; r < bpf_loads; ++r) {
			spawn({"bpf", "distinct"}, s, r ? nullptr : &info);
			spawn({"bpf", "sameprefix"}, s, r ? nullptr : &info);
		}
	if (want("verifier"))
		measure_verifier(s);
	if (want("rss"))
		for (int r = 0; r < child_reps; ++r) {
			samples a, b;
			spawn({"rss", "plain"}, a);
			spawn({"rss", "block"}, b);
			if (a["rss_delta"].size() == 1 && b["rss_delta"].size() == 1)
				s["rss_per_thread_bytes"].push_back(
					(b["rss_delta"][0] - a["rss_delta"][0]) / rss_threads);
		}
	if (want("stores"))
		measure_stores(s);
	if (want("threads"))
		measure_threads(s);
	const bool partial = !(want("keys") && want("bpf") && want("verifier") && want("rss") &&
			       want("stores") && want("threads"));
	return print_results(s, info, json, partial, load_before);
}

