// tldctl's writing of untrusted text (tools/tldctl/text.cpp): JSON strings,
// JSON integers and table cells.
#include <catch2/catch_test_macros.hpp>
#include <string>

#include "text.hpp"

using namespace std::string_literals;
using tldctl::json_string;

TEST_CASE("valid_utf8 accepts well-formed UTF-8 and refuses overlong forms and surrogates and code points above U+10FFFF and cut sequences")
{
	CHECK(tldctl::valid_utf8(""));
	CHECK(tldctl::valid_utf8("plain ascii \x01\x7f"));
	CHECK(tldctl::valid_utf8("\xc3\xbc \xe2\x86\x92 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"));
	CHECK(tldctl::valid_utf8("nul\0inside"s));
	CHECK_FALSE(tldctl::valid_utf8("\xc0\xaf"));		// overlong '/'
	CHECK_FALSE(tldctl::valid_utf8("\xe0\x80\xaf"));		// overlong, 3 bytes
	CHECK_FALSE(tldctl::valid_utf8("\xed\xa0\x80"));		// U+D800
	CHECK_FALSE(tldctl::valid_utf8("\xf4\x90\x80\x80"));	// U+110000
	CHECK_FALSE(tldctl::valid_utf8("\xe2\x86"));		// cut short
	CHECK_FALSE(tldctl::valid_utf8("\x80"));			// continuation alone
	CHECK_FALSE(tldctl::valid_utf8("\xff"));
}

TEST_CASE("json_string passes UTF-8 through and escapes what JSON requires and writes U+FFFD for each stray byte")
{
	CHECK(json_string("dump.\xc3\xbc\xe2\x86\x92") == "\"dump.\xc3\xbc\xe2\x86\x92\"");
	CHECK(json_string("q\"b\\") == "\"q\\\"b\\\\\"");
	CHECK(json_string("\b\f\n\r\t\x01\x1f") == "\"\\b\\f\\n\\r\\t\\u0001\\u001f\"");
	CHECK(json_string("a\0b"s) == "\"a\\u0000b\"");
	CHECK(json_string("\x7f\xc2\x85") == "\"\x7f\xc2\x85\"");	// DEL and C1 are allowed
	CHECK(json_string("x\xff\xfey") == "\"x\xef\xbf\xbd\xef\xbf\xbdy\"");
	CHECK(json_string("\xe2\x86") == "\"\xef\xbf\xbd\xef\xbf\xbd\"");
}

TEST_CASE("json_text_member adds the bytes in hex only for text that is not UTF-8")
{
	CHECK(tldctl::json_text_member("name", "\xc3\xbc") == "\"name\":\"\xc3\xbc\"");
	CHECK(tldctl::json_text_member("name", "a\xff") ==
	      "\"name\":\"a\xef\xbf\xbd\",\"name_hex\":\"61ff\"");
}

TEST_CASE("json_u64 writes a number up to 2^53 - 1 and a decimal string above")
{
	CHECK(tldctl::json_u64(0) == "0");
	CHECK(tldctl::json_u64(9007199254740991ull) == "9007199254740991");
	CHECK(tldctl::json_u64(9007199254740992ull) == "\"9007199254740992\"");
	CHECK(tldctl::json_u64(18446744073709551615ull) == "\"18446744073709551615\"");
}

TEST_CASE("hex_bytes writes every byte as two lowercase digits and field_text stops at the first NUL")
{
	const std::uint8_t b[] = {0x00, 0x0a, 0x7f, 0xff};
	CHECK(tldctl::hex_bytes(b) == "000a7fff");
	CHECK(tldctl::hex_bytes({}) == "");
	const char named[16] = "dump-worker-0";
	CHECK(tldctl::field_text(named) == "dump-worker-0");
	const char full[4] = {'a', 'b', 'c', 'd'};	// no NUL: the whole field
	CHECK(tldctl::field_text(full) == "abcd");
}

TEST_CASE("table_text shows control characters and stray bytes in hex and pad counts characters")
{
	CHECK(tldctl::table_text("dump.\xc3\xbc\xe2\x86\x92") == "dump.\xc3\xbc\xe2\x86\x92");
	CHECK(tldctl::table_text("a\tb\x1b[2J") == "a\\x09b\\x1b[2J");
	CHECK(tldctl::table_text("\x7f\xc2\x9b") == "\\x7f\\xc2\\x9b");	// DEL, C1 CSI
	CHECK(tldctl::table_text("x\xff") == "x\\xff");
	CHECK(tldctl::pad("\xc3\xbc", 3) == "\xc3\xbc  ");
	CHECK(tldctl::pad("abcd", 3) == "abcd");
}
