// Each committed skeleton must describe the same object as its source: the
// same programs, the same maps, and the same map value types.  Compiler
// versions may change the instructions; they may not change the interface.
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <catch2/catch_test_macros.hpp>
#include <map>
#include <sstream>
#include <string>

const void *built_skeleton_elf(const char *name, std::size_t *size);
const void *prebuilt_skeleton_elf(const char *name, std::size_t *size);

namespace {

// A type, spelled out: kinds, names, sizes, member offsets, type tags.
void describe(const btf *b, __u32 id, std::ostringstream &out, int depth)
{
	const btf_type *t = btf__type_by_id(b, id);
	if (!t || depth > 6) {
		out << "?";
		return;
	}
	out << btf_kind(t) << ":" << btf__name_by_offset(b, t->name_off);
	if (btf_is_composite(t)) {
		out << "[" << t->size << "]{";
		const btf_member *m = btf_members(t);
		for (__u16 i = 0; i < btf_vlen(t); ++i, ++m) {
			out << btf__name_by_offset(b, m->name_off) << "@"
			    << btf_member_bit_offset(t, i) << ":";
			describe(b, m->type, out, depth + 1);
			out << ";";
		}
		out << "}";
	} else if (btf_is_array(t)) {
		out << "[" << btf_array(t)->nelems << "]";
		describe(b, btf_array(t)->type, out, depth + 1);
	} else if (btf_is_int(t)) {
		out << "[" << t->size << "]";
	} else if (btf_is_ptr(t) || btf_is_mod(t) || btf_is_typedef(t)) {
		out << "->";
		describe(b, t->type, out, depth + 1);
	}
}

std::map<std::string, std::string> interface_of(const void *elf, std::size_t size)
{
	std::map<std::string, std::string> out;
	bpf_object *obj = bpf_object__open_mem(elf, size, nullptr);
	REQUIRE(obj != nullptr);
	bpf_program *p;
	bpf_object__for_each_program(p, obj)
	{
		std::ostringstream s;
		s << bpf_program__section_name(p) << " type " << bpf_program__type(p);
		out[std::string("prog ") + bpf_program__name(p)] = s.str();
	}
	const btf *b = bpf_object__btf(obj);
	bpf_map *m;
	bpf_object__for_each_map(m, obj)
	{
		std::ostringstream s;
		s << "type " << bpf_map__type(m) << " key " << bpf_map__key_size(m) << " value "
		  << bpf_map__value_size(m) << " max " << bpf_map__max_entries(m) << " flags "
		  << bpf_map__map_flags(m) << " btf ";
		if (b && bpf_map__btf_value_type_id(m))
			describe(b, bpf_map__btf_value_type_id(m), s, 0);
		out[std::string("map ") + bpf_map__name(m)] = s.str();
	}
	bpf_object__close(obj);
	return out;
}

// `name`'s committed skeleton against the built one; the built object has
// at least `programs` programs and `maps` maps.
void compare(const char *name, std::size_t programs, std::size_t maps)
{
	std::size_t built_size = 0, prebuilt_size = 0;
	const void *built = built_skeleton_elf(name, &built_size);
	const void *prebuilt = prebuilt_skeleton_elf(name, &prebuilt_size);
	REQUIRE(built != nullptr);
	REQUIRE(prebuilt != nullptr);
	auto want = interface_of(built, built_size);
	auto have = interface_of(prebuilt, prebuilt_size);
	std::size_t progs = 0;
	for (const auto &w : want)
		progs += w.first.rfind("prog ", 0) == 0;
	CHECK(progs >= programs);
	CHECK(want.size() - progs >= maps);
	for (const auto &[what, desc] : want) {
		INFO(name << ": " << what << " (refresh bpf/prebuilt/, see its README)");
		REQUIRE(have.count(what) == 1);
		CHECK(have[what] == desc);
	}
	CHECK(have.size() == want.size());
}

} // namespace

TEST_CASE("the prebuilt verification skeleton matches what the source builds")
{
	compare("tld_verify", 1, 3);	// tld_verify_read; verify_reqs, tld_data_map, tld_key_map
}

TEST_CASE("the prebuilt dump skeleton matches what the source builds")
{
	compare("tld_dump", 4, 2);	// tld_dump_v1, tld_dump_b, tld_ps_v1, tld_ps_b; dump_map_v1, dump_map_b
}
