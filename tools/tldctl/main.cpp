// tldctl: check a kernel for task local data, verify libtld end to end, list
// who publishes in a map and dump the TLDs of a live process.
#include <unistd.h>

#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tldctl.hpp"

namespace tldctl {

void progress(const char *fmt, ...)
{
	static const bool tty = isatty(STDERR_FILENO);
	if (!tty)
		return;
	va_list ap;
	va_start(ap, fmt);
	std::vfprintf(stderr, fmt, ap);
	va_end(ap);
}

std::string bpf_error_text(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case EPERM:
	case EACCES:
		return "permission denied: loading BPF programs needs CAP_BPF and CAP_PERFMON "
		       "(run as root)";
	case ENOSYS:
		return "the kernel has no bpf() system call";
	case EINVAL:
	case ENOTSUP:
		return "the kernel refused the program or map (kernel too old? task local data "
		       "needs Linux 6.13 or later with BTF); run 'tldctl probe'";
	case ENOMEM:
		return "out of memory (or the locked-memory limit)";
	default:
		return std::strerror(err);
	}
}

bool parse_count(const char *s, long min, long max, long &out)
{
	// Digits only: strtol would also take blanks and a sign.
	if (!s || *s < '0' || *s > '9')
		return false;
	char *end = nullptr;
	errno = 0;
	long v = std::strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	out = v;
	return true;
}

} // namespace tldctl

namespace {

const tldctl::command *const commands[] = {
	&tldctl::probe_command,
	&tldctl::verify_command,
	&tldctl::dump_command,
	&tldctl::ps_command,
};

const tldctl::command *find_command(const char *name)
{
	for (const auto *c : commands)
		if (!std::strcmp(c->name, name))
			return c;
	return nullptr;
}

std::string global_usage()
{
	std::string s;
	for (const auto *c : commands)
		s += std::string(s.empty() ? "usage: " : "       ") + "tldctl " + c->synopsis + "\n";
	s += "       tldctl help [COMMAND]\n"
	     "       tldctl -h | --help | -V | --version\n\n";
	for (const auto *c : commands) {
		char line[160];
		std::snprintf(line, sizeof(line), "  %-8s %s\n", c->name, c->summary);
		s += line;
	}
	s += "\n'tldctl help COMMAND' or 'tldctl COMMAND --help' shows a command's options.\n";
	return s;
}

int global_usage_error(const std::string &message)
{
	std::fprintf(stderr, "tldctl: %s\n%s", message.c_str(), global_usage().c_str());
	return tldctl::exit_usage;
}

// libbpf's own messages would repeat what tldctl says; TLDCTL_VERBOSE shows them.
int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static const bool verbose = std::getenv("TLDCTL_VERBOSE") != nullptr;
	(void)level;
	return verbose ? std::vfprintf(stderr, fmt, ap) : 0;
}

} // namespace

int main(int argc, char **argv)
{
	libbpf_set_print(quiet_libbpf);
	if (argc < 2)
		return global_usage_error("no command given");
	const char *cmd = argv[1];
	if (!std::strcmp(cmd, "--help") || !std::strcmp(cmd, "-h") || !std::strcmp(cmd, "help")) {
		if (argc == 2 || std::strcmp(cmd, "help")) {
			if (argc > 2)
				return global_usage_error(std::string("unexpected argument '") + argv[2] + "'");
			std::fputs(global_usage().c_str(), stdout);
			return tldctl::exit_ok;
		}
		if (argc > 3)
			return global_usage_error(std::string("unexpected argument '") + argv[3] + "'");
		const tldctl::command *c = find_command(argv[2]);
		if (!c)
			return global_usage_error(std::string("no command '") + argv[2] + "'");
		std::fputs(tldctl::usage_text(*c).c_str(), stdout);
		return tldctl::exit_ok;
	}
	if (!std::strcmp(cmd, "--version") || !std::strcmp(cmd, "-V")) {
		if (argc > 2)
			return global_usage_error(std::string("unexpected argument '") + argv[2] + "'");
		std::printf("tldctl %s\n", TLDCTL_VERSION);
		return tldctl::exit_ok;
	}
	if (const tldctl::command *c = find_command(cmd))
		return c->run(*c, argc - 1, argv + 1);
	if (cmd[0] == '-')
		return global_usage_error(std::string("unknown option '") + cmd + "'");
	return global_usage_error(std::string("unknown command '") + cmd + "'");
}
