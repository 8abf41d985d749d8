// libFuzzer target for tldctl's parser of the pages a task iterator copied
// out (tools/tldctl/parse.cpp): untrusted bytes, any start.  It must never
// read outside the two spans, and what it returns must agree with them.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>

#include "parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	if (size < 10)
		return 0;
	std::uint64_t start;
	std::memcpy(&start, data, 8);
	// Small starts are the interesting ones; keep some of the wild ones.
	if (data[8] & 1)
		start %= 4200;
	const std::size_t meta_len = std::min<std::size_t>(size - 9, 4036);
	// Copies of exactly the span sizes, so that ASan sees any overrun.
	std::vector<std::uint8_t> meta(data + 9, data + 9 + meta_len);
	std::vector<std::uint8_t> page(data + 9 + meta_len, data + size);
	auto r = tldctl::parse_tlds(meta, page, start);
	if (r.entries.size() > 63)
		std::abort();
	for (const auto &e : r.entries) {
		if (e.name.size() > 62)
			std::abort();
		if (!e.truncated && (e.value.size() != e.size || e.page_off + e.size > page.size()))
			std::abort();
		if (e.truncated && !e.value.empty())
			std::abort();
		if (!e.truncated &&
		    std::memcmp(e.value.data(), page.data() + e.page_off, e.value.size()) != 0)
			std::abort();
		(void)tldctl::format_value(e.value);
	}
	return 0;
}
