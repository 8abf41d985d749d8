#include "diag.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "threads.hpp"

namespace tld::diag {
namespace {

std::atomic<tld_print_fn> g_print{nullptr};
// Hashes of the messages said so far (g_lock); a full table says nothing
// new.
unsigned long g_said[256];
unsigned g_nsaid = 0;

void to_stderr(const char *msg) noexcept
{
	std::size_t n = std::strlen(msg);
	while (n) {
		ssize_t w = write(STDERR_FILENO, msg, n);
		if (w <= 0)
			return;
		msg += w;
		n -= static_cast<std::size_t>(w);
	}
}

// TLD_LOG, read once; not from the environment of a setuid program.
bool log_to_stderr() noexcept
{
	static const bool on = [] {
		const char *v = secure_getenv("TLD_LOG");
		return v && *v && std::strcmp(v, "0") != 0;
	}();
	return on;
}

unsigned long hash(const char *s) noexcept
{
	unsigned long h = 5381;
	for (; *s; ++s)
		h = h * 33 + static_cast<unsigned char>(*s);
	return h;
}

} // namespace

tld_print_fn set_print(tld_print_fn fn) noexcept { return g_print.exchange(fn); }

void report(const char *what, const char *why) noexcept
{
	tld_print_fn fn = g_print.load();
	if (!fn && !log_to_stderr())
		return;
	char msg[512];
	std::snprintf(msg, sizeof(msg), "libtld: %s: %s\n", what, why);
	// The library's lock: callers hold it already, or take it here.
	const bool held = g_lock.held();
	if (!held)
		g_lock.lock();
	const unsigned long h = hash(msg);
	bool said = g_nsaid == sizeof(g_said) / sizeof(g_said[0]);
	for (unsigned i = 0; i < g_nsaid && !said; ++i)
		said = g_said[i] == h;
	if (!said) {
		g_said[g_nsaid++] = h;
		if (fn)
			fn(msg);
		else
			to_stderr(msg);
	}
	if (!held)
		g_lock.unlock();
}

const char *why_errno(int err) noexcept
{
	switch (err < 0 ? -err : err) {
	case ENOENT: return "no such pin";
	case EACCES:
	case EPERM: return "permission denied";
	case ENOSPC: return "TLD_MAPS_MAX maps are registered already";
	case EMFILE:
	case ENFILE: return "no descriptor left";
	case ENOTDIR: return "not a directory";
	case ENOMEM: return "out of memory";
	case ESRCH: return "the thread is gone";
	default: return std::strerror(err < 0 ? -err : err);
	}
}

} // namespace tld::diag
