// Key variables belong to the object that defines them: the program and two
// libraries linked to it each define `same_key` with TLD_DEFINE_KEY() (and
// the C++ ones `same_typed_key` with TLD_KEY()) for TLDs of their own names.
// Every object writes its own TLDs, and BPF reads each value under its own
// name.
#include <catch2/catch_test_macros.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "bpftest.hpp"
#include "objects.h"
#include "tld/tld.hpp"

using tldtest::bytes_of;
using tldtest::reader;

TLD_DEFINE_KEY(same_key, "objects.exe", 8);
TLD_KEY(std::uint64_t, same_typed_key, "objects.exe.typed");

namespace {

std::string key_text(tld_key_t k) { return std::to_string(k.off); }

} // namespace

TEST_CASE("the program and two libraries defining the same key variable names keep their own keys and BPF reads each TLD under its own name")
{
	struct object_key {
		const char *name;
		tld_key_t key;
	};
	const std::vector<object_key> keys = {
		{"objects.exe", same_key},
		{"objects.exe.typed", same_typed_key.raw()},
		{"objects.lib_c", objects_c_key()},
		{"objects.lib_cpp", objects_cpp_key()},
		{"objects.lib_cpp.typed", objects_cpp_typed_key()},
	};
	for (const auto &k : keys) {
		const tld_key_t found = tld_find_key(k.name, 8);
		INFO("the key of " << k.name << " in its object: " << key_text(k.key)
				   << "; tld_find_key: " << key_text(found));
		CHECK(k.key.off == found.off);
	}

	reader verify(reader::verify);
	REQUIRE(tld_map_register(verify.data_map_fd()) == 0);
	const std::uint64_t exe = 0x1e0001, exe_typed = 0x1e0002, lib_c = 0x1c0001,
			    lib_cpp = 0x1c0002, lib_cpp_typed = 0x1c0003;
	auto *p = static_cast<std::uint64_t *>(tld_data(same_key));
	REQUIRE(p != nullptr);
	*p = exe;
	REQUIRE(same_typed_key.get() != nullptr);
	*same_typed_key.get() = exe_typed;
	REQUIRE(objects_c_set(lib_c) == 0);
	REQUIRE(objects_cpp_set(lib_cpp, lib_cpp_typed) == 0);

	const std::vector<std::uint64_t> want = {exe, exe_typed, lib_c, lib_cpp, lib_cpp_typed};
	std::vector<tldtest::spec> specs;
	for (const auto &k : keys)
		specs.push_back({k.name, 8});
	const auto r = verify.read(specs);
	REQUIRE(r.err == 0);
	for (std::size_t i = 0; i < keys.size(); ++i) {
		INFO("BPF reading " << keys[i].name);
		REQUIRE(r.items[i].found == 1);
		CHECK(r.items[i].value == bytes_of(want[i]));
	}
}
