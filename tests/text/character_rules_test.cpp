#include "aggregator/text/character_rules.hpp"

#include <catch2/catch.hpp>

using agg::text::equal_ignoring_case;
using agg::text::made_of;
using agg::text::whole_number;

TEST_CASE("made_of accepts letters, digits and the extra characters only, and never empty text") {
  CHECK(made_of("abc-09_X", "-_"));
  CHECK_FALSE(made_of("abc X", "-_"));
  CHECK_FALSE(made_of("", "-_"));
  CHECK(made_of("lower_case", "_", false));
  CHECK_FALSE(made_of("Upper", "_", false));
  CHECK_FALSE(made_of("caf\xc3\xa9", ""));
}

TEST_CASE("equal_ignoring_case ignores ASCII letter case only") {
  CHECK(equal_ignoring_case("Content-Length", "content-length"));
  CHECK(equal_ignoring_case("", ""));
  CHECK_FALSE(equal_ignoring_case("Bearer", "Bearer "));
  CHECK_FALSE(equal_ignoring_case("te", "tf"));
}

TEST_CASE("whole_number takes digits only, within its bounds") {
  CHECK(whole_number("8080", 0, 65535) == 8080U);
  CHECK(whole_number("0", 0, 10) == 0U);
  CHECK_FALSE(whole_number("65536", 0, 65535));
  CHECK_FALSE(whole_number("0", 1, 10));
  CHECK_FALSE(whole_number("", 0, 10));
  CHECK_FALSE(whole_number("-1", 0, 10));
  CHECK_FALSE(whole_number("+1", 0, 10));
  CHECK_FALSE(whole_number("1 ", 0, 10));
  CHECK_FALSE(whole_number("99999999999999999999999", 0, 10));
}

TEST_CASE("a header value may hold a tab but no other control character") {
  CHECK_FALSE(agg::text::breaks_header_line("a value\twith a tab, UTF-8 \xC3\xA9 and ~"));
  for (const char *bad : {"a\rb", "a\nb", "a\vb", "a\x7f", "a\x01"}) CHECK(agg::text::breaks_header_line(bad));
  CHECK(agg::text::breaks_header_line(std::string_view{"a\0b", 3}));
}
