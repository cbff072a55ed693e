#include "aggregator/filters/timing_filter.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include "aggregator/http/error_body.hpp"
#include "tests/support/recording_responder.hpp"

using namespace agg;

namespace {

http::response timed(http::response answer, std::string entries = {}) {
  filters::request_context r = testing::request_for("GET", "/");
  r.timing_entries = std::move(entries);
  filters::timing_filter{}.on_response(r, answer);
  return answer;
}

std::string header(const http::response &answer, std::string_view name) {
  for (const auto &h : answer.headers)
    if (h.name == name) return h.value;
  return {};
}

}  // namespace

TEST_CASE("a JSON body ends with elapsed, every answer carries Server-Timing with what the request added") {
  const auto json = timed(http::response::json(201, R"({"a":1})"), ", fetch;dur=1.000");
  const auto doc = boost::json::parse(json.body).as_object();
  CHECK(doc.at("a").as_int64() == 1);
  CHECK(doc.at("elapsed").as_double() >= 0.0);
  CHECK(header(json, "Server-Timing").starts_with("total;dur="));
  CHECK(header(json, "Server-Timing").ends_with(", fetch;dur=1.000"));
  CHECK(boost::json::parse(timed(http::response::json(200, "{}")).body).as_object().size() == 1);

  const auto text = timed(http::response{.status = 200, .body = "# metrics\n", .content_type = "text/plain"});
  CHECK(text.body == "# metrics\n");
  CHECK_FALSE(header(text, "Server-Timing").empty());
}

TEST_CASE("error documents carry a code and a message") {
  const auto doc = boost::json::parse(http::error_json("bad", "it \"broke\""));
  CHECK(doc.at("error").at("code").as_string() == "bad");
  CHECK(doc.at("error").at("message").as_string() == "it \"broke\"");
}
