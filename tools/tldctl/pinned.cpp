// tldctl: open a task local data map by its bpffs path, and say exactly what
// is wrong when the path is something else.
#include <bpf/bpf.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "detect.hpp"
#include "text.hpp"
#include "tldctl.hpp"

namespace tldctl {
namespace {

// The directory part of a path, as the kernel resolves it.
std::string dir_of(const std::string &path)
{
	auto slash = path.find_last_not_of('/');
	if (slash == std::string::npos)
		return "/";
	slash = path.rfind('/', slash);
	if (slash == std::string::npos)
		return ".";
	auto end = path.find_last_not_of('/', slash);
	return end == std::string::npos ? "/" : path.substr(0, end + 1);
}

} // namespace

int open_pinned_map(const char *cmd, const char *path, int &fd, bool &variant_b)
{
	const std::string shown = table_text(path);
	auto fail = [&](const std::string &what) {
		std::fprintf(stderr, "tldctl %s: %s\n", cmd, what.c_str());
		return exit_error;
	};
	// Outside bpffs, bpf_obj_get() fails with EACCES even for root: say
	// where the path is instead.  A path that does not exist is judged by
	// its directory.
	struct statfs sf;
	int err = statfs(path, &sf) == 0 ? 0 : errno;
	if (err == ENOENT || err == ENOTDIR) {
		std::string dir = dir_of(path);
		if (statfs(dir.c_str(), &sf) == 0)
			err = 0;
		else if (errno == ENOENT || errno == ENOTDIR)
			return fail(shown + ": no such directory " + table_text(dir));
	}
	if (!err && sf.f_type != BPF_FS_MAGIC)
		return fail(shown + " is not in a bpf filesystem (maps are pinned in a bpffs "
				    "mount, such as /sys/fs/bpf)");
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return fail(shown + " is a directory, not a pinned map");

	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = errno;
		return fail(shown + ": " +
			    (err == ENOENT ? "no map pinned there"
			     : err == EACCES || err == EPERM
				     ? "permission denied (opening a pinned map needs CAP_BPF and "
				       "access to the file)"
				     : std::strerror(err)));
	}
	bpf_map_info info;
	tld::variant kind;
	if ((err = tld::detect::inspect(fd, info, kind))) {
		// Not a map, another map type or another layout: in the words of
		// the library's diagnostics.
		char why[tld::detect::describe_len];
		std::string what = err == -EINVAL
					   ? std::string(" is ") + tld::detect::describe(fd, why, sizeof(why))
					   : ": " + std::string(std::strerror(-err));
		close(fd);
		return fail(shown + what);
	}
	variant_b = kind == tld::variant::b;
	return exit_ok;
}

} // namespace tldctl
