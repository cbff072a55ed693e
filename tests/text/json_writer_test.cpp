#include "aggregator/text/json_writer.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstdio>
#include <string>
#include <vector>

using agg::text::json_writer;

TEST_CASE("json_writer escapes strings and prints plain numbers") {
  std::string out;
  json_writer w{out};
  w.raw("{").key("s").string("q\"b\\n\n\x01").raw(",").key("d").number(1.5, 3).raw(",").key("i").number(-7LL);
  w.raw(",").key("v").value(boost::json::parse(R"({"x":[1,null,true]})")).raw(",").key("nan").number(0.0 / 0.0, 2);
  w.raw("}");
  CHECK(out == R"({"s":"q\"b\\n\n\u0001","d":1.500,"i":-7,"v":{"x":[1,null,true]},"nan":null})");
  CHECK(boost::json::parse(out).at("s").as_string() == "q\"b\\n\n\x01");
}

TEST_CASE("json_writer keeps UTF-8 and writes U+FFFD for bytes that are not UTF-8") {
  std::string out;
  json_writer{out}.string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80|\xFF|\xC3|\xED\xA0\x80|x");
  // é, € and 😀 stay as they are; a lone 0xFF, a cut-off sequence and a surrogate are replaced.
  CHECK(
      out ==
      "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80|\xEF\xBF\xBD|\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|x\"");
  CHECK(boost::json::parse(out).is_string());  // Boost.JSON's parser refuses text that is not UTF-8
}

TEST_CASE("json_writer writes a tree as JSON: numbers as people write them, what JSON cannot hold as null") {
  // Boost.JSON 1.81 parses 1E400 as infinity and 0E400 as NaN, and its serializer writes them as
  // `Infinity` and `NaN` (found by plan_fuzz: an upstream or a client can send such numbers).
  const auto tree = boost::json::parse(R"({"big":1E400,"neg":-1E400,"nan":0E400,"d":12.5,"u":18446744073709551615,)"
                                       R"("i":-3,"a":[true,null,"x"],"o":{}})");
  std::string out;
  json_writer{out}.value(tree);
  CHECK(out ==
        R"({"big":null,"neg":null,"nan":null,"d":12.5,"u":18446744073709551615,"i":-3,"a":[true,null,"x"],"o":{}})");
  boost::json::value text = boost::json::string{"bad \xFF"};
  out.clear();
  json_writer{out}.value(text);
  CHECK(out == "\"bad \xEF\xBF\xBD\"");
}

namespace {

/// What json_writer::string writes for ASCII text, one byte at a time.
std::string escaped_one_by_one(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      (out += '\\') += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char code[8];
      std::snprintf(code, sizeof code, "\\u%04x", c);
      out += c == '\r' ? "\\r" : c == '\t' ? "\\t" : code;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

TEST_CASE("json_writer finds a byte to escape wherever it is in the text, eight bytes at a time or not") {
  // Every length around the eight-byte steps, each byte JSON escapes (and the neighbours of the
  // bounds the test uses: 0x1F/0x20, '!'/'#' beside '"', '['/']' beside '\\', 0x7F) at every place.
  for (const char special : {'"', '\\', '\n', '\r', '\t', '\x01', '\x1F', ' ', '!', '#', '[', ']', '\x7F'}) {
    for (std::size_t length = 1; length <= 27; ++length) {
      for (std::size_t at = 0; at < length; ++at) {
        std::string text(length, 'a');
        text[at] = special;
        if (at + 3 < length) text[at + 3] = '"';  // a second one after it
        std::string out;
        json_writer{out}.string(text);
        INFO("length " << length << ", at " << at << ", byte " << static_cast<int>(special));
        REQUIRE(out == escaped_one_by_one(text));
      }
    }
  }
  std::string out;
  json_writer{out}.string("0123456789abcdef\xC3\xA9-0123456789\xFF");  // UTF-8 after a plain block, then not
  CHECK(out == "\"0123456789abcdef\xC3\xA9-0123456789\xEF\xBF\xBD\"");
}

TEST_CASE("json_writer writes fixed-point numbers as printf's %.*f does") {
  std::vector<double> values{0.0, -0.0, 1.5, -1.5, 0.0004, 0.0006, -0.0004, 999.9996, 1.288, 12345.678901, 1e11};
  for (int i = 1; i < 2000; ++i) values.push_back(static_cast<double>(i) * 1.37 / 7.0);
  for (const double value : values) {
    for (int decimals = 0; decimals <= 7; ++decimals) {
      std::string out;
      json_writer{out}.number(value, decimals);
      char expected[64];
      std::snprintf(expected, sizeof expected, "%.*f", decimals, value);
      INFO("value " << value << ", decimals " << decimals);
      REQUIRE(out == expected);
    }
  }
}
