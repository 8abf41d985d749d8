// libFuzzer target for the key API: tld_create_key, tld_find_key,
// tld_set_dyn_data_size, tld_data, tld_free and tld_thread_init with
// arbitrary names (any bytes, embedded NULs, any length), sizes and keys.
//
// The library's key state is per process and never shrinks (63 keys, a
// layout that freezes), so this target compiles src/keys.cpp into itself and
// puts that state back to a fresh process's before every input.  Every
// answer must be one that <tld/tld.h> documents, and every pointer must stay
// inside the calling thread's block; anything else aborts.
#include "../../src/keys.cpp"	// NOLINT: the state to reset lives here

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "tld/tld.h"

namespace {

[[noreturn]] void fail(const char *what, long a = 0, long b = 0)
{
	std::fprintf(stderr, "fuzz_keys: %s (%ld, %ld)\n", what, a, b);
	std::abort();
}

void reset_library()
{
	using namespace tld::keys;
	tld_free();
	if (tld_meta_u *m = g_meta.load())
		std::memset(m, 0, tld::page_size());
	for (auto &m : g_key_marks)
		m.store(0);
	const std::size_t r = reserve_from_env();
	g_state.store(state::make(r, r, false).w);
	if (tld_meta_u *m = g_meta.load())
		m->size = static_cast<__u16>(r);
}

struct input {
	const std::uint8_t *p;
	std::size_t n;
	std::uint8_t byte() { return n ? (--n, *p++) : 0; }
	std::uint16_t u16() { return static_cast<std::uint16_t>(byte() | byte() << 8); }
	std::size_t size()
	{
		switch (byte() % 8) {
		case 0: return 0;
		case 1: return tld::page_size() - 8;
		case 2: return tld::page_size();
		case 3: return SIZE_MAX - byte();
		case 4: return u16();
		default: return 1 + byte() % 72;
		}
	}
	std::string name()
	{
		std::size_t len = byte() % 80;
		std::string s;
		for (std::size_t i = 0; i < len; ++i)
			s += static_cast<char>(byte() % 4 ? 'a' + byte() % 3 : byte());
		return s;
	}
};

struct key_info {
	std::string name;	// up to the first NUL
	std::size_t size;
	int off;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	reset_library();
	input in{data, size};
	std::vector<key_info> keys;
	bool frozen = false;
	while (in.n) {
		switch (in.byte() % 6) {
		case 0: {	// create
			std::string raw = in.name();
			std::size_t sz = in.size();
			const char *name = in.byte() % 16 ? raw.c_str() : nullptr;
			errno = 0;
			tld_key_t k = tld_create_key(name, sz);
			static const std::set<int> ok = {-EINVAL, -E2BIG, -EEXIST, -ENOSPC, -ENOMEM};
			if (k.off < 0) {
				if (!ok.count(k.off) || errno != -k.off)
					fail("tld_create_key: undocumented answer", k.off, errno);
				break;
			}
			if (!name)
				fail("tld_create_key accepted NULL");
			std::string n = name;
			if (n.empty() || n.size() > TLD_NAME_MAX || sz == 0)
				fail("tld_create_key accepted a bad name or size", static_cast<long>(n.size()),
				     static_cast<long>(sz));
			if (k.off % 8)
				fail("unaligned key", k.off);
			for (const auto &o : keys) {
				if (o.name == n)
					fail("a name was published twice");
				if (k.off < o.off + static_cast<long>(o.size) && o.off < k.off + static_cast<long>(sz))
					fail("two keys overlap", k.off, o.off);
			}
			keys.push_back({n, sz, k.off});
			break;
		}
		case 1: {	// find
			std::string raw = in.name();
			std::size_t sz = in.size();
			tld_key_t k = tld_find_key(raw.c_str(), sz);
			std::string n = raw.c_str();
			const key_info *known = nullptr;
			for (const auto &o : keys)
				if (o.name == n)
					known = &o;
			if (n.empty() || n.size() > TLD_NAME_MAX || sz == 0) {
				if (k.off != -EINVAL)
					fail("tld_find_key: bad name or size not -EINVAL", k.off);
			} else if (!known) {
				if (k.off != -ENOENT)
					fail("tld_find_key found a name never published", k.off);
			} else if (known->size != sz) {
				if (k.off != -EINVAL)
					fail("tld_find_key with another size", k.off);
			} else if (k.off != known->off) {
				fail("tld_find_key gave another offset", k.off, known->off);
			}
			break;
		}
		case 2: {	// data through a created key: every byte inside the block
			if (keys.empty())
				break;
			const key_info &k = keys[in.byte() % keys.size()];
			auto *p = static_cast<std::uint8_t *>(tld_data(tld_key_t{static_cast<std::int16_t>(k.off)}));
			frozen = true;
			if (!p)
				fail("tld_data failed for a created key", errno);
			const auto page = reinterpret_cast<std::uintptr_t>(p) & ~(tld::page_size() - 1);
			const std::size_t area = tld::keys::data_size();
			if (reinterpret_cast<std::uintptr_t>(p) != page + 8 + k.off)
				fail("pointer not at the key's offset");
			if (k.off + k.size > area || 8 + area > tld::page_size())
				fail("a key runs past the block", k.off + static_cast<long>(k.size),
				     static_cast<long>(area));
			std::memset(p, in.byte(), k.size);
			break;
		}
		case 3: {	// data through a key made of input bytes
			tld_key_t k{static_cast<std::int16_t>(in.u16())};
			bool known = false;
			for (const auto &o : keys)
				known |= o.off == k.off;
			errno = 0;
			void *p = tld_data(k);
			if (p && !known)
				fail("tld_data accepted a key never created", k.off);
			if (!p && !known && errno != (k.off < 0 ? -k.off : EINVAL))
				fail("tld_data: wrong errno for a bad key", k.off, errno);
			if (p)
				frozen = true;
			break;
		}
		case 4: {	// reserve
			std::size_t sz = in.size();
			int r = tld_set_dyn_data_size(sz);
			if (r != 0 && r != -EBUSY && r != -E2BIG)
				fail("tld_set_dyn_data_size: undocumented answer", r);
			if (frozen && r == 0)
				fail("tld_set_dyn_data_size changed a frozen layout");
			break;
		}
		case 5:
			if (in.byte() % 2) {
				tld_free();
			} else {
				if (int r = tld_thread_init())
					fail("tld_thread_init", r);
				frozen = true;
			}
			break;
		}
	}
	return 0;
}
