// The wire layout (include/tld/tld_layout.h) as user space sees it, with
// every offset that a BPF reader depends on asserted at compile time.
#pragma once

#include <linux/types.h>

#include <cstddef>
#include <cstdint>
#include <unistd.h>

#include "tld/tld.h"
#include "tld/tld_layout.h"

namespace tld {

static_assert(TLD_LAYOUT_DATA_START == 8);
static_assert(TLD_LAYOUT_NAME_LEN == 62);
static_assert(TLD_LAYOUT_SLOTS == 63);
static_assert(TLD_NAME_MAX == TLD_LAYOUT_NAME_LEN - 1, "names keep room for the NUL");
static_assert(TLD_KEYS_MAX == TLD_LAYOUT_SLOTS);
static_assert(sizeof(tld_metadata) == 64);
static_assert(offsetof(tld_metadata, name) == 0);
static_assert(offsetof(tld_metadata, size) == 62);
static_assert(offsetof(tld_meta_u, cnt) == 0);
static_assert(offsetof(tld_meta_u, size) == 2);
static_assert(offsetof(tld_meta_u, metadata) == 4);
static_assert(sizeof(tld_meta_u) == 4 + 63 * 64);
static_assert(sizeof(tld_meta_u) <= 4096, "the metadata must fit the smallest page");
static_assert(offsetof(tld_data_u, start) == 0);
static_assert(offsetof(tld_data_u, data) == TLD_LAYOUT_DATA_START);

// Map value of a version 1 map: the two UPTRs as plain addresses.
struct map_value_v1 {
	__u64 data;	// page-aligned address of the thread's page
	__u64 meta;	// page-aligned address of the metadata page
};
static_assert(sizeof(map_value_v1) == 16);
static_assert(offsetof(map_value_v1, meta) == 8);

// Map value of a variant B map: start moves into the value.
struct map_value_b {
	__u64 data;
	__u64 meta;
	__u16 start;	// page offset of the data area; never 0
	__u16 pad[3];
};
static_assert(sizeof(map_value_b) == 24);
static_assert(offsetof(map_value_b, start) == 16);

// What a registered map's owner compiled, detected from its BTF.
enum class variant : std::uint8_t { v1, b };

// Offset of member `metadata` in the metadata struct, per variant (C: 64).
inline constexpr std::size_t meta_array_offset_v1 = offsetof(tld_meta_u, metadata);

inline constexpr std::size_t round8(std::size_t n) { return TLD_LAYOUT_ROUND(n); }

// The run-time page size, read once.
inline std::size_t page_size()
{
	static const std::size_t ps = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
	return ps;
}

// Bytes a thread's data area can ever hold: its page minus the header.
// Keys are signed 16-bit offsets, which bounds it on pages over 32 KiB.
inline std::size_t data_capacity()
{
	std::size_t cap = page_size() - TLD_LAYOUT_DATA_START;
	return cap < 32768 ? cap : 32768;
}

// Largest page size the key bitmap covers (64 KiB pages, as on some arm64).
inline constexpr std::size_t max_page_size = 65536;

} // namespace tld
