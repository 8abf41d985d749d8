#include "text.hpp"

namespace tldctl {
namespace {

// Length of the valid UTF-8 sequence at the start of `s` and its code point,
// or 0 when the first byte does not start one.
std::size_t utf8_seq(std::string_view s, char32_t &cp)
{
	auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
	unsigned char c = b(0);
	std::size_t n;
	char32_t min;
	if (c < 0x80) {
		cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 2, cp = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (s.size() < n)
		return 0;
	for (std::size_t i = 1; i < n; ++i) {
		if ((b(i) & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (b(i) & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

const char hex[] = "0123456789abcdef";

void append_xhh(std::string &o, unsigned char c)
{
	o += "\\x";
	o += hex[c >> 4];
	o += hex[c & 15];
}

} // namespace

bool valid_utf8(std::string_view s)
{
	char32_t cp;
	for (std::size_t i = 0; i < s.size();) {
		std::size_t n = utf8_seq(s.substr(i), cp);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

std::string json_string(std::string_view s)
{
	std::string o = "\"";
	char32_t cp;
	for (std::size_t i = 0; i < s.size();) {
		std::size_t n = utf8_seq(s.substr(i), cp);
		if (!n) {
			o += "\xef\xbf\xbd";	// U+FFFD
			++i;
			continue;
		}
		switch (cp) {
		case '"': o += "\\\""; break;
		case '\\': o += "\\\\"; break;
		case '\b': o += "\\b"; break;
		case '\f': o += "\\f"; break;
		case '\n': o += "\\n"; break;
		case '\r': o += "\\r"; break;
		case '\t': o += "\\t"; break;
		default:
			if (cp < 0x20) {
				o += "\\u00";
				o += hex[cp >> 4];
				o += hex[cp & 15];
			} else {
				o.append(s.substr(i, n));
			}
		}
		i += n;
	}
	return o + "\"";
}

std::string hex_bytes(std::span<const std::uint8_t> bytes)
{
	std::string h;
	h.reserve(2 * bytes.size());
	for (std::uint8_t c : bytes) {
		h += hex[c >> 4];
		h += hex[c & 15];
	}
	return h;
}

std::string json_text_member(std::string_view key, std::string_view s)
{
	std::string o = json_string(key) + ":" + json_string(s);
	if (!valid_utf8(s))
		o += "," + json_string(std::string(key) + "_hex") + ":\"" +
		     hex_bytes({reinterpret_cast<const std::uint8_t *>(s.data()), s.size()}) + "\"";
	return o;
}

std::string json_u64(std::uint64_t v)
{
	constexpr std::uint64_t exact = (std::uint64_t{1} << 53) - 1;
	return v <= exact ? std::to_string(v) : "\"" + std::to_string(v) + "\"";
}

std::string table_text(std::string_view s)
{
	std::string o;
	char32_t cp;
	for (std::size_t i = 0; i < s.size();) {
		std::size_t n = utf8_seq(s.substr(i), cp);
		if (n && cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f)) {
			o.append(s.substr(i, n));
			i += n;
			continue;
		}
		// A control character (every byte of it) or a stray byte.
		for (std::size_t k = 0; k < (n ? n : 1); ++k)
			append_xhh(o, static_cast<unsigned char>(s[i + k]));
		i += n ? n : 1;
	}
	return o;
}

std::string pad(const std::string &s, std::size_t width)
{
	std::size_t chars = 0;
	for (unsigned char c : s)
		chars += (c & 0xc0) != 0x80;
	return chars >= width ? s : s + std::string(width - chars, ' ');
}

} // namespace tldctl
