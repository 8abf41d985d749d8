// The report: the table of figures and goals in Markdown, and the JSON.
#pragma once

#include <string>
#include <vector>

#include "common.hpp"

namespace bench {

// The load averages of /proc/loadavg.
std::string loadavg();

// Prints every figure of `s` (median, min-max) and the goals, `info` (the
// BPF programs' sizes), and writes the medians to `json` when not null.
// Returns 1 when a figure of a full run (`partial` false) is missing.
int print_results(const samples &s, const std::vector<std::string> &info, const char *json,
		  bool partial, const std::string &load_before);

} // namespace bench
