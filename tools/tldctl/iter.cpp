// tldctl: run one task iterator of the dump object (bpf/tld_dump.bpf.c) on
// a pinned map and collect what it writes.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tld_dump.skel.h"
#include "tldctl.hpp"

namespace tldctl {

namespace {

// run_iterator on the open map `map_fd` (closed here) of the layout variant_b
// says.
int iterate(const char *cmd, iterator which, int map_fd, bool variant_b, std::uint32_t pid,
	    std::vector<std::uint8_t> &out)
{
	tld_dump *skel = tld_dump__open();
	if (!skel) {
		std::fprintf(stderr, "tldctl %s: %s\n", cmd, bpf_error_text(errno).c_str());
		close(map_fd);
		return exit_error;
	}
	bpf_program *run = which == iterator::ps
				   ? (variant_b ? skel->progs.tld_ps_b : skel->progs.tld_ps_v1)
				   : (variant_b ? skel->progs.tld_dump_b : skel->progs.tld_dump_v1);
	// Only the program that runs is loaded, and only the map of its layout
	// is set up: it reuses the pinned map, the other is never created.
	int err = 0;
	bpf_program *p;
	bpf_object__for_each_program(p, skel->obj)
	{
		if (!err)
			err = bpf_program__set_autoload(p, p == run);
	}
	if (!err)
		err = bpf_map__set_autocreate(variant_b ? skel->maps.dump_map_v1 : skel->maps.dump_map_b,
					      false);
	if (!err)
		err = bpf_map__reuse_fd(variant_b ? skel->maps.dump_map_b : skel->maps.dump_map_v1,
					map_fd);
	if (!err)
		err = tld_dump__load(skel);
	close(map_fd);
	if (err) {
		std::fprintf(stderr, "tldctl %s: loading the iterator: %s\n", cmd,
			     bpf_error_text(err).c_str());
		tld_dump__destroy(skel);
		return exit_error;
	}
	union bpf_iter_link_info linfo;
	std::memset(&linfo, 0, sizeof(linfo));
	linfo.task.pid = pid;	// 0: every task
	LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &linfo,
		    .link_info_len = sizeof(linfo));
	bpf_link *link = bpf_program__attach_iter(run, &opts);
	if (!link) {
		std::fprintf(stderr, "tldctl %s: attaching the task iterator: %s\n", cmd,
			     bpf_error_text(errno).c_str());
		tld_dump__destroy(skel);
		return exit_error;
	}
	int iter = bpf_iter_create(bpf_link__fd(link));
	if (iter >= 0) {
		std::uint8_t chunk[16384];
		ssize_t n;
		while ((n = read(iter, chunk, sizeof(chunk))) > 0)
			out.insert(out.end(), chunk, chunk + n);
		err = n < 0 ? errno : 0;
		close(iter);
	} else {
		err = errno;
	}
	bpf_link__destroy(link);
	tld_dump__destroy(skel);
	if (err) {
		std::fprintf(stderr, "tldctl %s: reading the iterator: %s\n", cmd, std::strerror(err));
		return exit_error;
	}
	return exit_ok;
}

} // namespace

int run_iterator(const char *cmd, iterator which, const char *path, std::uint32_t pid,
		 std::vector<std::uint8_t> &out, bool &variant_b)
{
	int map_fd;
	if (int err = open_pinned_map(cmd, path, map_fd, variant_b))
		return err;
	return iterate(cmd, which, map_fd, variant_b, pid, out);
}

const char *layout_name(bool variant_b)
{
	return variant_b ? "variant B" : "version 1";
}

} // namespace tldctl
