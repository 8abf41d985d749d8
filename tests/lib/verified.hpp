// How many instructions the verifier processes for one program of a BPF
// object, loaded without the object's other programs.  Header-only: the
// scale tests (tests/bpf/test_consumer.cpp) and the benchmark's verifier
// figures (bench/measure.cpp) both count this way, and the benchmark links
// nothing of the test harness.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace tldtest {

// `open` is called once per use and returns a new, unloaded bpf_object (of
// a file or of memory), or nullptr with errno set.
struct verified {
	bool ok = false;
	unsigned insns = 0;	// the verifier's count, when ok
	std::string why;	// why not, otherwise: the verifier's last words
};

template <typename Open> std::vector<std::string> program_names(Open open)
{
	std::vector<std::string> out;
	if (bpf_object *obj = open()) {
		bpf_program *prog;
		bpf_object__for_each_program(prog, obj)
		out.push_back(bpf_program__name(prog));
		bpf_object__close(obj);
	}
	return out;
}

template <typename Open> verified verify_one(Open open, const std::string &name)
{
	static std::vector<char> log(1 << 20);
	verified r;
	bpf_object *obj = open();
	if (!obj) {
		r.why = std::string("open: ") + std::strerror(errno);
		return r;
	}
	bpf_program *prog;
	bpf_object__for_each_program(prog, obj)
	{
		const bool mine = name == bpf_program__name(prog);
		bpf_program__set_autoload(prog, mine);
		if (mine) {
			log[0] = '\0';
			bpf_program__set_log_buf(prog, log.data(), log.size());
			bpf_program__set_log_level(prog, 1);
		}
	}
	if (int err = bpf_object__load(obj)) {
		const std::string text(log.data());
		const std::size_t at = text.size() > 400 ? text.size() - 400 : 0;
		r.why = "load: " + std::string(std::strerror(-err)) + ": ..." + text.substr(at);
	} else if (bpf_program *p = bpf_object__find_program_by_name(obj, name.c_str())) {
		bpf_prog_info info = {};
		__u32 len = sizeof(info);
		if (bpf_prog_get_info_by_fd(bpf_program__fd(p), &info, &len) == 0) {
			r.ok = true;
			r.insns = info.verified_insns;
		} else {
			r.why = std::string("prog info: ") + std::strerror(errno);
		}
	} else {
		r.why = "no program " + name;
	}
	bpf_object__close(obj);
	return r;
}

} // namespace tldtest
