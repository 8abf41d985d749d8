#include "parse.hpp"

#include <cstring>

#include "text.hpp"

extern "C" {
#include <linux/types.h>
#include "tld/tld_layout.h"
}

namespace tldctl {

std::size_t published_count(unsigned low_byte, std::vector<std::string> &problems)
{
	if (low_byte <= TLD_LAYOUT_SLOTS)
		return low_byte;
	problems.push_back("count " + std::to_string(low_byte) + " above " +
			   std::to_string(TLD_LAYOUT_SLOTS));
	return TLD_LAYOUT_SLOTS;
}

parsed parse_tlds(std::span<const std::uint8_t> meta, std::span<const std::uint8_t> data,
		  std::uint64_t start)
{
	parsed out;
	constexpr std::size_t slots_at = offsetof(tld_meta_u, metadata);
	if (meta.size() < slots_at) {
		out.problems.push_back("metadata page too short");
		return out;
	}
	// Readers use the low byte of the u16 count (its first byte only on
	// little-endian hosts), as <tld/tld.bpf.h> and the ps iterator do.
	std::uint16_t cnt16;
	std::memcpy(&cnt16, meta.data() + offsetof(tld_meta_u, cnt), sizeof(cnt16));
	const std::size_t cnt = published_count(cnt16 & 0xff, out.problems);
	if (start < TLD_LAYOUT_DATA_START || start >= data.size()) {
		out.problems.push_back("data offset " + std::to_string(start) + " outside the page");
		start = TLD_LAYOUT_DATA_START;
	}
	std::size_t off = 0;
	for (std::size_t i = 0; i < cnt; ++i) {
		std::size_t at = slots_at + i * sizeof(tld_metadata);
		if (at + sizeof(tld_metadata) > meta.size()) {
			out.problems.push_back("metadata page ends in slot " + std::to_string(i));
			break;
		}
		const std::uint8_t *slot = meta.data() + at;
		std::uint16_t size;
		std::memcpy(&size, slot + offsetof(tld_metadata, size), sizeof(size));
		if (size == 0) {
			out.problems.push_back("slot " + std::to_string(i) + " not published");
			break;
		}
		tld_entry e;
		const char *name = reinterpret_cast<const char *>(slot);
		e.name.assign(name, strnlen(name, TLD_LAYOUT_NAME_LEN));
		e.size = size;
		e.page_off = start + off;
		if (e.page_off + size <= data.size())
			e.value.assign(data.begin() + static_cast<std::ptrdiff_t>(e.page_off),
				       data.begin() + static_cast<std::ptrdiff_t>(e.page_off + size));
		else
			e.truncated = true;
		out.entries.push_back(std::move(e));
		off += TLD_LAYOUT_ROUND(std::size_t{size});
	}
	return out;
}

bool as_integer(const std::vector<std::uint8_t> &v, std::uint64_t &n)
{
	// In the host's byte order: the writer runs on this machine.
	switch (v.size()) {
	case 1: n = v[0]; return true;
	case 2: { std::uint16_t x; std::memcpy(&x, v.data(), 2); n = x; return true; }
	case 4: { std::uint32_t x; std::memcpy(&x, v.data(), 4); n = x; return true; }
	case 8: std::memcpy(&n, v.data(), 8); return true;
	default: return false;
	}
}

std::string format_value(const std::vector<std::uint8_t> &v)
{
	std::uint64_t n;
	if (as_integer(v, n))
		return std::to_string(n);
	return "0x" + hex_bytes(v);
}

} // namespace tldctl
