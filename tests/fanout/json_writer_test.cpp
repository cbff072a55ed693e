#include "aggregator/fanout/json_writer.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

using agg::fanout::json_writer;

TEST_CASE("json_writer escapes strings and prints plain numbers") {
  std::string out;
  json_writer w{out};
  w.raw("{").key("s").string("q\"b\\n\n\x01").raw(",").key("d").number(1.5, 3).raw(",").key("i").number(-7LL);
  w.raw(",").key("v").value(boost::json::parse(R"({"x":[1,null,true]})")).raw(",").key("nan").number(0.0 / 0.0, 2);
  w.raw("}");
  CHECK(out == R"({"s":"q\"b\\n\n\u0001","d":1.500,"i":-7,"v":{"x":[1,null,true]},"nan":null})");
  CHECK(boost::json::parse(out).at("s").as_string() == "q\"b\\n\n\x01");
}
