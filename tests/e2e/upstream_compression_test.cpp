// Upstreams that compress: asked for every encoding libcurl decodes, decoded, counted decoded
// against the body limits (a decompression bomb ends too_large), and turned off per origin.
#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>

#include "tests/support/local_upstream.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"

using agg::testing::local_upstream;
using agg::testing::running_service;

namespace {

struct compressing_upstreams {
  local_upstream plain_origin;  ///< client.origins turns compression off for this one
  local_upstream upstream;
  running_service service{agg::testing::config_from(
      R"({"server":{"listen":"127.0.0.1:0"},
          "client":{"origins":{")" +
      plain_origin.base() + R"(":{"compression":false}}},
          "routes":[
            {"name":"zipped","path":"/api/zipped","max_body_bytes":1000000,"upstreams":[
              {"name":"small","url":")" +
      upstream.api("task_id=z&encoding=gzip") + R"("},
              {"name":"bomb","url":")" +
      upstream.api("fault=oversized&size=20000000&encoding=gzip") + R"("},
              {"name":"asked","url":")" +
      upstream.base() + R"(/echo"}]},
            {"name":"plain","path":"/api/plain","upstreams":[
              {"name":"asked","url":")" +
      plain_origin.base() + R"(/echo"},
              {"name":"zipped","url":")" +
      plain_origin.api("task_id=z&encoding=gzip") + R"("}]}]})")};
};

}  // namespace

TEST_CASE("a compressed upstream body is decoded, counted decoded, and its size on the wire reported") {
  compressing_upstreams f;
  const auto doc = agg::testing::get_json(f.service, "/api/zipped");
  const auto &calls = doc.at("upstreams").as_array();
  INFO(boost::json::serialize(doc));
  // Every encoding the linked libcurl decodes was asked for.
  const std::string asked{doc.at("data").at("asked").at("headers").at("accept-encoding").as_string()};
  for (const char *encoding : {"gzip", "br", "zstd"}) {
    INFO(encoding << " in " << asked);
    CHECK(asked.find(encoding) != std::string::npos);
  }
  // The small body arrived gzipped, and was read as the JSON it holds.
  CHECK(doc.at("data").at("small").at("task_id") == "z");
  CHECK(calls.at(0).at("ok") == true);
  const auto decoded = calls.at(0).at("bytes").as_int64();
  CHECK(decoded == static_cast<std::int64_t>(std::string_view{R"({"message":"Hello World","task_id":"z"})"}.size()));
  CHECK(calls.at(0).at("wire_bytes").as_int64() != decoded);
  // 20 MB of JSON that gzip makes a few KB: max_body_bytes (1 MB) counts what it decodes to.
  CHECK(calls.at(1).at("ok") == false);
  CHECK(calls.at(1).at("error").at("kind") == "too_large");
  CHECK(calls.at(1).at("bytes").as_int64() == 0);
  // An uncompressed body reports no wire size of its own.
  CHECK_FALSE(calls.at(2).as_object().contains("wire_bytes"));
}

TEST_CASE("an origin with compression false is asked for none, and a body it compresses anyway is not JSON") {
  compressing_upstreams f;
  const auto doc = agg::testing::get_json(f.service, "/api/plain");
  INFO(boost::json::serialize(doc));
  CHECK_FALSE(doc.at("data").at("asked").at("headers").as_object().contains("accept-encoding"));
  CHECK(doc.at("upstreams").at(1).at("error").at("kind") == "invalid_json");
}
