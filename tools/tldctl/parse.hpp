// Parsing what a task iterator copied out of a thread's task local data: the
// metadata page and the data page, as untrusted bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tldctl {

struct tld_entry {
	std::string name;
	std::size_t size = 0;
	std::size_t page_off = 0;		// where the value starts in the data page
	std::vector<std::uint8_t> value;	// empty when it does not fit the page
	bool truncated = false;			// the value runs past the page
};

struct parsed {
	std::vector<tld_entry> entries;
	std::vector<std::string> problems;	// what was wrong with the bytes
};

// The TLDs a reader takes as published from the low byte of the metadata
// page's count, `low_byte`: the byte itself, or the 63 slots of the page when
// it is above, with the problem added to `problems`.
std::size_t published_count(unsigned low_byte, std::vector<std::string> &problems);

// Parse `meta` (the metadata page) and `data` (the thread's page).  `start`
// is the data area's page offset: the page's first word for version 1, the
// map value's field for variant B.  Never reads outside either span,
// whatever they hold.
parsed parse_tlds(std::span<const std::uint8_t> meta, std::span<const std::uint8_t> data,
		  std::uint64_t start);

// True, with the value in `n`, when `v` is shown as an integer: a value of 1,
// 2, 4 or 8 bytes, unsigned, in the byte order of the host (the writer's).
bool as_integer(const std::vector<std::uint8_t> &v, std::uint64_t &n);

// A value as text: integers (as_integer()) as unsigned decimal, anything
// else as hex.
std::string format_value(const std::vector<std::uint8_t> &v);

} // namespace tldctl
