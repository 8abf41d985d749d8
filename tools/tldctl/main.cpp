// tldctl: check a kernel for task local data, verify libtld end to end, and
// dump the TLDs of a live process.
#include <unistd.h>

#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdarg>
#include <cstdlib>
#include <cstring>

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
	if (!s || !*s)
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

int usage(FILE *to)
{
	std::fprintf(to,
		     "usage: tldctl probe\n"
		     "       tldctl verify [--threads N] [--keys K]\n"
		     "       tldctl dump --pid PID --map PATH [--json]\n"
		     "       tldctl --help | --version\n"
		     "\n"
		     "  probe   check that this kernel supports task local data, and why not\n"
		     "  verify  threads write TLDs through libtld, BPF reads them, compare\n"
		     "  dump    every thread of process PID and its TLDs, read through the\n"
		     "          task storage map pinned at PATH\n");
	return to == stdout ? tldctl::exit_ok : tldctl::exit_usage;
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
		return usage(stderr);
	const char *cmd = argv[1];
	if (!std::strcmp(cmd, "--help") || !std::strcmp(cmd, "-h") || !std::strcmp(cmd, "help"))
		return usage(stdout);
	if (!std::strcmp(cmd, "--version")) {
		std::printf("tldctl %s\n", TLDCTL_VERSION);
		return tldctl::exit_ok;
	}
	if (!std::strcmp(cmd, "probe"))
		return tldctl::cmd_probe(argc - 1, argv + 1);
	if (!std::strcmp(cmd, "verify"))
		return tldctl::cmd_verify(argc - 1, argv + 1);
	if (!std::strcmp(cmd, "dump"))
		return tldctl::cmd_dump(argc - 1, argv + 1);
	std::fprintf(stderr, "tldctl: unknown command '%s'\n", cmd);
	return usage(stderr);
}
