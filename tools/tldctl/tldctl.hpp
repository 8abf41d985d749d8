// tldctl: shared pieces of the subcommands.
#pragma once

#include <cstdio>
#include <string>

namespace tldctl {

// Exit codes: 0 ok, 1 the check failed (mismatch, unsupported kernel),
// 2 usage error, 3 the operation could not run (permission, no such process).
enum { exit_ok = 0, exit_failed = 1, exit_usage = 2, exit_error = 3 };

int cmd_probe(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_dump(int argc, char **argv);

// Progress lines go to stderr, and only when it is a terminal.
void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// A human explanation for an errno from loading or attaching BPF objects.
std::string bpf_error_text(int err);

// Parse a positive integer option value; false on junk or out of range.
bool parse_count(const char *s, long min, long max, long &out);

} // namespace tldctl
