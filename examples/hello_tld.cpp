// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// hello_tld.cpp: the C++ layer in a few lines.  Typed keys, a scoped value,
// a map registration that ends with its object, and a BPF program reading
// back what each thread wrote.  Needs root.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <tld/tld.hpp>

#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "tld_verify.h"
#include "tld_verify.skel.h"

namespace {

TLD_KEY(std::uint64_t, request_id, "hello.cpp.request_id");
TLD_KEY(std::uint32_t, priority, "hello.cpp.priority");

std::mutex out;

// What the verification program sees of this thread's TLD `name`.
std::uint64_t bpf_sees(tld_verify *skel, const char *name, std::size_t size)
{
	auto req = std::make_unique<tld_verify_req>();
	std::memset(req.get(), 0, sizeof(*req));
	req->count = 1;
	req->flags = TLD_VERIFY_RESET_CACHE;
	std::strncpy(req->item[0].name, name, TLD_VERIFY_NAME_LEN - 1);
	req->item[0].size = static_cast<__u32>(size);
	__u32 tid = static_cast<__u32>(syscall(SYS_gettid));
	int reqs = bpf_map__fd(skel->maps.verify_reqs);
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	std::uint64_t v = 0;
	if (!bpf_map_update_elem(reqs, &tid, req.get(), BPF_ANY) &&
	    !bpf_prog_test_run_opts(bpf_program__fd(skel->progs.tld_verify_read), &opts) &&
	    !bpf_map_lookup_elem(reqs, &tid, req.get()) && req->item[0].found == 1)
		std::memcpy(&v, req->item[0].value, size);
	bpf_map_delete_elem(reqs, &tid);
	return v;
}

} // namespace

int main()
{
	std::unique_ptr<tld_verify, decltype(&tld_verify__destroy)> skel(tld_verify__open_and_load(),
									 tld_verify__destroy);
	if (!skel) {
		std::perror("loading the BPF program (run as root)");
		return 1;
	}
	try {
		tld::map registration(bpf_map__fd(skel->maps.tld_data_map));
		bool all_ok = true;
		std::vector<std::thread> threads;
		for (std::uint32_t t = 0; t < 3; ++t)
			threads.emplace_back([&, t] {
				*priority.get() = 10 + t;
				// The request id is set for this block only.
				tld::scoped<std::uint64_t> id(request_id, 1000 + t);
				auto seen = bpf_sees(skel.get(), "hello.cpp.request_id", 8);
				auto prio = bpf_sees(skel.get(), "hello.cpp.priority", 4);
				std::lock_guard g(out);
				std::printf("thread %u: request_id %llu (BPF %llu), priority %u (BPF %llu)\n",
					    t, 1000ull + t, static_cast<unsigned long long>(seen), 10 + t,
					    static_cast<unsigned long long>(prio));
				all_ok = all_ok && seen == 1000 + t && prio == 10 + t;
			});
		for (auto &t : threads)
			t.join();
		std::printf("%s\n", all_ok ? "every value matched" : "MISMATCH");
		return all_ok ? 0 : 1;
	} catch (const tld::error &e) {
		std::fprintf(stderr, "%s\n", e.what());
		return 1;
	}
}
