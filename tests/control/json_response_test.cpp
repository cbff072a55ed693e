#include "aggregator/control/json_response.hpp"

#include <catch2/catch.hpp>

#include <httplib.h>

#include <boost/json/parse.hpp>

#include "aggregator/http/error_body.hpp"

TEST_CASE("send_json appends elapsed to the JSON object") {
  httplib::Response response;
  agg::control::send_json(response, 201, R"({"a":1})", std::chrono::steady_clock::now());
  CHECK(response.status == 201);
  const auto doc = boost::json::parse(response.body).as_object();
  CHECK(doc.at("a").as_int64() == 1);
  CHECK(doc.at("elapsed").as_double() >= 0.0);

  httplib::Response empty;
  agg::control::send_json(empty, 200, "{}", std::chrono::steady_clock::now());
  CHECK(boost::json::parse(empty.body).as_object().size() == 1);
}

TEST_CASE("error documents carry a code and a message") {
  const auto doc = boost::json::parse(agg::http::error_json("bad", "it \"broke\""));
  CHECK(doc.at("error").at("code").as_string() == "bad");
  CHECK(doc.at("error").at("message").as_string() == "it \"broke\"");
  CHECK(boost::json::parse(agg::control::error_json_for_status(413)).at("error").at("code").as_string() ==
        "payload_too_large");
}
