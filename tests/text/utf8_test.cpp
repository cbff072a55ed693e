#include "aggregator/text/utf8.hpp"

#include <catch2/catch.hpp>

#include <string>

using agg::text::is_valid_utf8;
using agg::text::valid_utf8;

namespace {

/// `n` replacement characters.
std::string fffd(std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += agg::text::replacement_character;
  return out;
}

}  // namespace

TEST_CASE("well-formed UTF-8 passes unchanged, from ASCII to four-byte sequences") {
  for (const std::string &text : {std::string{}, std::string{"plain"}, std::string{"\xC2\x80 \xDF\xBF"},
                                  std::string{"\xE0\xA0\x80 \xED\x9F\xBF \xEE\x80\x80 \xEF\xBF\xBF"},
                                  std::string{"\xF0\x90\x80\x80 \xF4\x8F\xBF\xBF"}, std::string{"a\0b", 3}}) {
    CHECK(is_valid_utf8(text));
    CHECK(valid_utf8(text) == text);
  }
}

TEST_CASE("each maximal ill-formed subpart becomes one U+FFFD (Unicode 15, table 3-8)") {
  // The table's example: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 reads a FFFD FFFD FFFD b FFFD c FFFD FFFD d.
  CHECK(valid_utf8("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64") ==
        "a" + fffd(3) + "b" + fffd(1) + "c" + fffd(2) + "d");
  CHECK(valid_utf8("\xC0\xAF") == fffd(2));          // overlong '/': C0 is never a lead byte
  CHECK(valid_utf8("\xE0\x80\xAF") == fffd(3));      // overlong three-byte form
  CHECK(valid_utf8("\xED\xA0\x80") == fffd(3));      // a UTF-16 surrogate
  CHECK(valid_utf8("\xF4\x90\x80\x80") == fffd(4));  // past U+10FFFF
  CHECK(valid_utf8("\xF5\xFF") == fffd(2));          // bytes that never appear
  CHECK(valid_utf8("\xE2\x82") == fffd(1));          // cut off at the end: one
  CHECK(valid_utf8("\xF0\x9F\x98") == fffd(1));
  CHECK_FALSE(is_valid_utf8("ok \xFF"));
  CHECK(is_valid_utf8(valid_utf8("\x80\xFF\xC3\x28 \xF0\x28\x8C\x28")));
}
