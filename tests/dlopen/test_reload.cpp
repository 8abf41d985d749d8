// Plugins loaded with dlopen(), unloaded and loaded again, whose
// TLD_DEFINE_KEY() names are published already: BPF reads what they write
// through the key their definition got.
#include <dlfcn.h>

#include <catch2/catch_test_macros.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "bpftest.hpp"
#include "tld/tld.h"

using tldtest::bytes_of;
using tldtest::reader;

namespace {

struct plugin {
	void *h = nullptr;
	explicit plugin(const char *env)
	{
		const char *path = std::getenv(env);
		if (!path)
			throw std::runtime_error(std::string(env) + " is not set");
		h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (!h)
			throw std::runtime_error(dlerror());
	}
	~plugin() { close(); }
	plugin(const plugin &) = delete;
	plugin &operator=(const plugin &) = delete;
	void close()
	{
		if (h)
			dlclose(h);
		h = nullptr;
	}
	template <typename F> F *fn(const char *sym) const
	{
		auto *f = reinterpret_cast<F *>(dlsym(h, sym));
		if (!f)
			throw std::runtime_error(std::string("no symbol ") + sym);
		return f;
	}
	tld_key_t key(const char *sym) const { return fn<tld_key_t()>(sym)(); }
	int set(const char *sym, std::uint64_t v) const { return fn<int(std::uint64_t)>(sym)(v); }
};

// What BPF reads of the calling thread's "reload.value".
std::uint64_t bpf_value(const reader &r)
{
	auto got = r.read({{"reload.value", 8}});
	if (got.err || got.items[0].found != 1)
		throw std::runtime_error("BPF did not find reload.value (err " +
					 std::to_string(got.err) + ")");
	std::uint64_t v = 0;
	std::memcpy(&v, got.items[0].value.data(), sizeof(v));
	return v;
}

bool still_loaded(const char *env)
{
	void *h = dlopen(std::getenv(env), RTLD_NOW | RTLD_NOLOAD);
	if (h)
		dlclose(h);
	return h != nullptr;
}

} // namespace

TEST_CASE("a plugin loaded unloaded and loaded again gets its key back and BPF reads what the reloaded plugin writes")
{
	reader verify(reader::verify);
	REQUIRE(tld_map_register(verify.data_map_fd()) == 0);
	REQUIRE(tld_thread_init() == 0);	// the reload is a late definition

	plugin first("RELOAD");
	const tld_key_t k1 = first.key("tldtest_reload_key");
	REQUIRE(k1.off >= 0);
	REQUIRE(first.set("tldtest_reload_set", 0x1111) == 0);
	CHECK(bpf_value(verify) == 0x1111);
	first.close();
	REQUIRE_FALSE(still_loaded("RELOAD"));	// its constructor will run again

	plugin again("RELOAD");
	const tld_key_t k2 = again.key("tldtest_reload_key");
	INFO("the reloaded plugin's key holds " << k2.off << ", the first load's " << k1.off);
	REQUIRE(k2.off == k1.off);
	REQUIRE(again.set("tldtest_reload_set", 0x2222) == 0);
	CHECK(bpf_value(verify) == 0x2222);
	// tld_create_key() itself still refuses a published name.
	CHECK(tld_create_key("reload.value", 8).off == -EEXIST);
	CHECK(tld_find_key("reload.value", 8).off == k1.off);
}

TEST_CASE("two plugins defining the same name and size share the TLD and a definition of another size holds EEXIST")
{
	reader verify(reader::verify);
	REQUIRE(tld_map_register(verify.data_map_fd()) == 0);

	plugin one("RELOAD");
	plugin twin("RELOAD_TWIN");
	const tld_key_t k = one.key("tldtest_reload_key");
	const tld_key_t t = twin.key("tldtest_twin_key");
	REQUIRE(k.off >= 0);
	CHECK(t.off == k.off);
	REQUIRE(one.set("tldtest_reload_set", 0x3333) == 0);
	CHECK(bpf_value(verify) == 0x3333);
	REQUIRE(twin.set("tldtest_twin_set", 0x4444) == 0);
	CHECK(bpf_value(verify) == 0x4444);

	errno = 0;
	plugin other("RELOAD_OTHER_SIZE");
	CHECK(other.key("tldtest_other_size_key").off == -EEXIST);
	CHECK(tld_find_key("reload.value", 16).off == -EINVAL);
	CHECK(errno == EINVAL);
	// The refused definition changed nothing.
	CHECK(bpf_value(verify) == 0x4444);
}
