// How tldctl writes text it did not make (TLD names, thread names, paths):
// as JSON strings and in tables.  Such bytes come from the inspected
// process and may be anything.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace tldctl {

// True when `s` is well-formed UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF).
bool valid_utf8(std::string_view s);

// `s` as a JSON string, quotes included: valid UTF-8 as it is, each byte
// that is not part of a valid UTF-8 sequence as U+FFFD, the characters
// JSON requires escaped (", \ and U+0000 to U+001F) escaped.
std::string json_string(std::string_view s);

// The member `"key":"..."` for `s`; when `s` is not valid UTF-8, followed by
// `,"key_hex":"..."` with every byte of `s` in hexadecimal, so that the
// exact bytes survive.
std::string json_text_member(std::string_view key, std::string_view s);

// An unsigned integer in JSON: a number up to 2^53 - 1 (the largest integer
// that every JSON reader holds exactly), a decimal string above.
std::string json_u64(std::uint64_t v);

// `s` for a table on a terminal: valid UTF-8 as it is, except control
// characters (C0, DEL, C1); those and each byte that is not part of a valid
// UTF-8 sequence as \xHH.
std::string table_text(std::string_view s);

// The string a fixed-size field holds: up to its first NUL, or all of it
// when it has none (a thread's name from the kernel, 16 bytes).
template <std::size_t N> std::string field_text(const char (&field)[N])
{
	return std::string(field, strnlen(field, N));
}

// Every byte of `bytes` as two lowercase hexadecimal digits, in order.
std::string hex_bytes(std::span<const std::uint8_t> bytes);

// `s` left-aligned in `width` columns, counting characters, not bytes
// (`s` being valid UTF-8, as table_text() makes it).
std::string pad(const std::string &s, std::size_t width);

} // namespace tldctl
