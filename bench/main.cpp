// tld-bench: every figure of bench/run.sh, measured in one run and printed as
// a Markdown table (median of repetitions, min-max spread), optionally also
// as JSON.  Figures are printed, never asserted.  The timed loops are in
// kernels.cpp, the child-process protocol in children.cpp, the report in
// report.cpp.
#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "children.hpp"
#include "common.hpp"
#include "measure.hpp"
#include "report.hpp"

using namespace bench;

namespace {

// The sections of a run, in the order they run; --only picks some.
constexpr const char *sections[] = {"keys", "bpf", "verifier", "rss", "stores", "threads"};

std::string all_sections()
{
	std::string all;
	for (const char *s : sections)
		all += (all.empty() ? "" : ",") + std::string(s);
	return all;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc > 1 && !std::strcmp(argv[1], "--child"))
		return run_child(argc, argv);
	const char *json = nullptr;
	const std::string usage = "usage: tld-bench [--json PATH] [--only " + all_sections() + "]";
	std::vector<std::string_view> only(std::begin(sections), std::end(sections));
	for (int i = 1; i < argc; ++i) {
		if (!std::strcmp(argv[i], "--json") && i + 1 < argc) {
			json = argv[++i];
		} else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) {
			only.clear();
			for (std::string_view list = argv[++i];;) {
				const std::string_view name = list.substr(0, list.find(','));
				if (std::find(std::begin(sections), std::end(sections), name) ==
				    std::end(sections))
					die("no section '%.*s' (%s)", static_cast<int>(name.size()),
					    name.data(), usage.c_str());
				only.push_back(name);
				if (name.size() == list.size())
					break;
				list.remove_prefix(name.size() + 1);
			}
		} else {
			die("%s", usage.c_str());
		}
	}
	auto want = [&](std::string_view section) {
		return std::find(only.begin(), only.end(), section) != only.end();
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
	const bool partial = !std::all_of(std::begin(sections), std::end(sections), want);
	return print_results(s, info, json, partial, load_before);
}

