#include "aggregator/text/json_writer.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

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
