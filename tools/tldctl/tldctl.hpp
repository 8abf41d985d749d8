// tldctl: shared pieces of the subcommands.
#pragma once

#include <getopt.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

struct tld_verify;	// bpf/tld_verify.skel.h
struct tld_verify_req;	// bpf/tld_verify.h

namespace tldctl {

// Exit codes: 0 ok, 1 the check failed (mismatch, unsupported kernel),
// 2 usage error, 3 the operation could not run (permission, no such process).
enum { exit_ok = 0, exit_failed = 1, exit_usage = 2, exit_error = 3 };

// A subcommand.  Its usage text is "usage: tldctl SYNOPSIS", a blank line and
// DETAILS; `tldctl help NAME`, `tldctl NAME --help` and every usage error of
// the command print that one text.
struct command {
	const char *name;
	const char *synopsis;	// "dump -p PID -m PATH [-j]"
	const char *summary;	// one line for `tldctl --help`
	const char *details;	// what it does and its options
	int (*run)(const command &self, int argc, char **argv);
};

extern const command probe_command;
extern const command verify_command;
extern const command dump_command;
extern const command ps_command;

// The command's usage text, as described above.
std::string usage_text(const command &c);

// Report a usage error of `c`: "tldctl NAME: MESSAGE" and the usage text on
// stderr.  Returns exit_usage.
int usage_error(const command &c, const std::string &message);

// Parse the options of `c` (argv[0] is the command's name) with
// getopt_long(3), -h and --help added.  `take(val, optarg)` is called for
// every option in order and returns an empty string to accept it or a
// message for a usage error.  Arguments that are not options are usage
// errors.  Returns -1 when the command should run, or the exit code to
// return: exit_ok after printing the help, exit_usage after a usage error.
int parse_options(const command &c, int argc, char **argv, const std::vector<option> &options,
		  const std::function<std::string(int val, const char *arg)> &take);

// Open the task local data map pinned at `path` for the command `cmd`:
// exit_ok with `fd` (the caller closes it) and `variant_b` set, or
// exit_error after saying on stderr what the path is instead (not in bpffs,
// a directory, a program, another map type, another layout, ...).
int open_pinned_map(const char *cmd, const char *path, int &fd, bool &variant_b);

// The task iterators of bpf/tld_dump.bpf.c: the pages of one process's
// threads (dump), or the header of every task with an element (ps).
enum class iterator { dump, ps };

// Open the map pinned at `path` (open_pinned_map), load the dump object with
// only `which` for the map's layout on it, attach it to process `pid` (0:
// every task), and append all it writes to `out`; `variant_b` says the map's
// layout.  exit_ok, or exit_error after saying on stderr what failed.
int run_iterator(const char *cmd, iterator which, const char *path, std::uint32_t pid,
		 std::vector<std::uint8_t> &out, bool &variant_b);

// A layout as the output names it: "variant B" or "version 1".
const char *layout_name(bool variant_b);

// Have the verification program of `skel` answer `req` for the calling
// thread: the request is put in the map verify_reqs under the thread's id,
// the program tld_verify_read runs once (BPF_PROG_TEST_RUN) and the answer is
// read back into `req`; the element is deleted after.  0, or the errno of
// the step that failed.
int verify_request(tld_verify *skel, tld_verify_req &req);

// Progress lines go to stderr, and only when it is a terminal.
void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// A human explanation for an errno from loading or attaching BPF objects.
std::string bpf_error_text(int err);

// Parse a decimal integer option value from min to max; false on junk or
// out of range.
bool parse_count(const char *s, long min, long max, long &out);

} // namespace tldctl
