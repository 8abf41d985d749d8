// The child-process protocol: figures that need a fresh process (key
// creation: keys are per process and at most 63; RSS: an untouched heap and
// stack cache; BPF: 63 keys of one naming scheme) run in children.  This
// program re-executes itself with `--child KIND ...`, and the child prints
// "name value" lines (and "info ..." lines) that spawn() collects.
#pragma once

#include <string>
#include <vector>

#include "common.hpp"

namespace bench {

// main() of a child: argv is "tld-bench --child KIND [ARG]".
int run_child(int argc, char **argv);

// Runs this program as a child and collects its "name value" lines into
// `out` and its "info" lines into `info`.
void spawn(const std::vector<std::string> &args, samples &out,
	   std::vector<std::string> *info = nullptr);

} // namespace bench
