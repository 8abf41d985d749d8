#include "common.hpp"

#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tld_bench.skel.h"

namespace bench {

tld_key_t g_key;
int g_map_fd = -1;

double now_ns()
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

[[noreturn]] void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	std::fputs("tld-bench: ", stderr);
	std::vfprintf(stderr, fmt, ap);
	std::fputc('\n', stderr);
	va_end(ap);
	std::exit(1);
}

// Loads the bench object (for its tld_data_map) and registers the map.
tld_bench *load_and_register()
{
	libbpf_set_print(nullptr);
	tld_bench *skel = tld_bench__open_and_load();
	if (!skel)
		die("loading the BPF object: %s (run as root)", std::strerror(errno));
	if (int err = tld_map_register(bpf_map__fd(skel->maps.tld_data_map)))
		die("tld_map_register: %s", std::strerror(-err));
	return skel;
}

long statm_resident_bytes()
{
	FILE *f = std::fopen("/proc/self/statm", "r");
	long size = 0, resident = 0;
	if (!f || std::fscanf(f, "%ld %ld", &size, &resident) != 2)
		die("reading /proc/self/statm");
	std::fclose(f);
	return resident * sysconf(_SC_PAGESIZE);
}

} // namespace bench
