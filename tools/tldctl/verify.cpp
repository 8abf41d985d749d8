// tldctl verify: N threads write K TLDs of assorted sizes through libtld, the
// verification program reads each one back from BPF, and every byte is
// compared.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <cerrno>
#include <cstring>
#include <linux/types.h>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tld/tld.h"
#include "tld_verify.h"
#include "tld_verify.skel.h"
#include "tldctl.hpp"

namespace tldctl {
namespace {

constexpr std::size_t sizes[] = {1, 2, 4, 8, 3, 16, 12, 24, 64, 5, 40, 8};

struct tld_def {
	std::string name;
	std::size_t size;
	tld_key_t key;
};

// The byte written at position `i` of TLD `k` by thread `t`: distinct across
// threads and TLDs, never all zero.
std::uint8_t pattern(long t, std::size_t k, std::size_t i)
{
	return static_cast<std::uint8_t>(0x5a ^ (t * 37 + static_cast<long>(k) * 11 +
						 static_cast<long>(i) * 3 + 1));
}

struct outcome {
	long compared = 0;
	std::vector<std::string> problems;
};

outcome check_thread(long t, const std::vector<tld_def> &defs, tld_verify *skel)
{
	outcome o;
	int map_fd = bpf_map__fd(skel->maps.tld_data_map);
	for (std::size_t k = 0; k < defs.size(); ++k) {
		auto *p = static_cast<std::uint8_t *>(tld_get_data(map_fd, defs[k].key));
		if (!p) {
			o.problems.push_back("thread " + std::to_string(t) + ": tld_get_data(" +
					     defs[k].name + "): " + std::strerror(errno));
			return o;
		}
		for (std::size_t i = 0; i < defs[k].size; ++i)
			p[i] = pattern(t, k, i);
	}
	auto req = std::make_unique<tld_verify_req>();	// zeroed
	req->count = static_cast<__u32>(defs.size());
	req->flags = TLD_VERIFY_RESET_CACHE | TLD_VERIFY_TWICE;
	for (std::size_t k = 0; k < defs.size(); ++k) {
		std::strncpy(req->item[k].name, defs[k].name.c_str(), TLD_VERIFY_NAME_LEN - 1);
		req->item[k].size = static_cast<__u32>(defs[k].size);
	}
	if (int err = verify_request(skel, *req)) {
		o.problems.push_back("thread " + std::to_string(t) +
				     ": running the BPF reader: " + bpf_error_text(err));
		return o;
	}
	if (req->err) {
		o.problems.push_back("thread " + std::to_string(t) +
				     ": BPF found no task local data for the thread (" +
				     std::to_string(req->err) + ")");
		return o;
	}
	for (std::size_t k = 0; k < defs.size(); ++k) {
		const auto &it = req->item[k];
		std::string where = "thread " + std::to_string(t) + ", " + defs[k].name;
		if (it.found != 1) {
			o.problems.push_back(where + (it.found < 0 ? ": two lookups disagreed"
								  : ": not found by BPF"));
			continue;
		}
		for (std::size_t i = 0; i < defs[k].size; ++i) {
			++o.compared;
			if (it.value[i] != pattern(t, k, i)) {
				o.problems.push_back(where + ": byte " + std::to_string(i) + " differs");
				break;
			}
		}
	}
	return o;
}

int run_verify(const command &self, int argc, char **argv)
{
	long threads = 8, keys = 8;
	int r = parse_options(self, argc, argv,
			      {{"threads", required_argument, nullptr, 't'},
			       {"keys", required_argument, nullptr, 'k'}},
			      [&](int v, const char *arg) -> std::string {
				      long max = v == 't' ? 4096 : TLD_VERIFY_ITEMS;
				      if (!parse_count(arg, 1, max, v == 't' ? threads : keys))
					      return std::string(v == 't' ? "--threads" : "--keys") +
						     " takes a number from 1 to " + std::to_string(max);
				      return "";
			      });
	if (r >= 0)
		return r;

	std::vector<tld_def> defs;
	for (long k = 0; k < keys; ++k) {
		char name[48];
		std::snprintf(name, sizeof(name), "tldctl.verify.%02d", static_cast<int>(k));
		std::size_t size = sizes[static_cast<std::size_t>(k) % std::size(sizes)];
		tld_key_t key = tld_create_key(name, size);
		if (tld_key_is_err(key)) {
			std::fprintf(stderr, "tldctl verify: creating %s (%zu bytes): %s\n", name, size,
				     std::strerror(-key.off));
			return exit_error;
		}
		defs.push_back({name, size, key});
	}
	tld_verify *skel = tld_verify__open_and_load();
	if (!skel) {
		std::fprintf(stderr, "tldctl verify: loading the verification program: %s\n",
			     bpf_error_text(errno).c_str());
		return exit_error;
	}

	progress("verifying %ld threads x %ld TLDs...\n", threads, keys);
	std::vector<outcome> results(static_cast<std::size_t>(threads));
	std::barrier start(threads);
	std::atomic<long> done{0};
	std::vector<std::thread> ts;
	for (long t = 0; t < threads; ++t)
		ts.emplace_back([&, t] {
			start.arrive_and_wait();	// all threads hold blocks at once
			results[static_cast<std::size_t>(t)] = check_thread(t, defs, skel);
			long d = ++done;
			if (d % 64 == 0)
				progress("  %ld/%ld threads\n", d, threads);
		});
	for (auto &t : ts)
		t.join();
	tld_verify__destroy(skel);

	long compared = 0, bad = 0;
	for (auto &r : results) {
		compared += r.compared;
		for (auto &p : r.problems) {
			if (++bad <= 20)
				std::printf("MISMATCH %s\n", p.c_str());
		}
	}
	if (bad > 20)
		std::printf("... and %ld more\n", bad - 20);
	std::printf("%ld threads x %ld TLDs: %ld bytes compared, %s\n", threads, keys, compared,
		    bad ? (std::to_string(bad) + " problems").c_str() : "all match");
	return bad ? exit_failed : exit_ok;
}

} // namespace

int verify_request(tld_verify *skel, tld_verify_req &req)
{
	const __u32 tid = static_cast<__u32>(syscall(SYS_gettid));
	const int reqs = bpf_map__fd(skel->maps.verify_reqs);
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	// libbpf (1.0 and later) returns -errno.
	int err = bpf_map_update_elem(reqs, &tid, &req, BPF_ANY);
	if (err)
		return -err;	// nothing to delete
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.tld_verify_read), &opts);
	if (!err)
		err = bpf_map_lookup_elem(reqs, &tid, &req);
	bpf_map_delete_elem(reqs, &tid);
	return -err;
}

const command verify_command = {
	"verify",
	"verify [-t N] [-k K]",
	"threads write TLDs through libtld, BPF reads them, every byte is compared",
	"N threads each write K TLDs of assorted sizes through libtld; each thread\n"
	"then has the verification BPF program look every TLD up by name, twice,\n"
	"and every byte is compared with what it wrote.  Exits 1 on a mismatch.\n"
	"\n"
	"  -t, --threads N   threads, 1 to 4096 (default 8)\n"
	"  -k, --keys K      TLDs per thread, 1 to 63 (default 8)\n"
	"  -h, --help        show this text\n",
	run_verify,
};

} // namespace tldctl
