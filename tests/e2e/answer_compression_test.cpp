// Answers compressed by Accept-Encoding: whole ones on the way out, streams line by line.
#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <string>
#include <thread>

#include "tests/support/local_upstream.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"

using agg::testing::local_upstream;
using agg::testing::running_service;

namespace {

agg::config::service_config compressing_config(const local_upstream &upstream, const std::string &compression) {
  return agg::testing::config_from(R"({"server":{"listen":"127.0.0.1:0","compression":)" + compression + R"(},
          "routes":[
            {"name":"many","path":"/api/many","num":{"default":50,"max":100},
             "upstreams":[{"url":")" +
                                   upstream.api("task_id={i}") + R"(","repeat":true}]},
            {"name":"held","path":"/api/held","timeout_ms":5000,"upstreams":[
              {"url":")" + upstream.api("task_id=first") +
                                   R"("},
              {"url":")" + upstream.api("task_id=second&barrier=2") +
                                   R"("}]}]})");
}

httplib::Headers accepting(const char *codings) { return {{"Accept-Encoding", codings}}; }

}  // namespace

TEST_CASE("an answer is compressed as the client accepts, says so, and decodes to the same document") {
  local_upstream upstream;
  running_service service{compressing_config(upstream, "{}")};
  const auto plain = service.http().Get("/api/many");
  REQUIRE(plain);
  CHECK_FALSE(plain->has_header("Content-Encoding"));  // httplib asked for nothing it would not decode
  for (const char *coding : {"gzip", "br"}) {
    INFO(coding);
    const auto r = service.http().Get("/api/many", accepting(coding));  // httplib decodes both
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->get_header_value("Content-Encoding") == coding);
    CHECK(r->get_header_value("Vary") == "Accept-Encoding");
    CHECK(boost::json::parse(r->body).at("succeeded") == 50);
  }
  CHECK_FALSE(service.http().Get("/api/many", accepting("gzip;q=0, br;q=0"))->has_header("Content-Encoding"));
  CHECK_FALSE(service.http().Head("/api/many", accepting("gzip"))->has_header("Content-Encoding"));
  CHECK_FALSE(service.http().Get("/health", accepting("gzip"))->has_header("Content-Encoding"));  // under min_bytes
}

TEST_CASE("server.compression turns it off, or offers only some codings") {
  local_upstream upstream;
  running_service off{compressing_config(upstream, R"({"enabled":false})")};
  CHECK_FALSE(off.http().Get("/api/many", accepting("gzip, br"))->has_header("Content-Encoding"));
  running_service no_streams{compressing_config(upstream, R"({"max_streams":0})")};
  CHECK(no_streams.http().Get("/api/many", accepting("gzip"))->get_header_value("Content-Encoding") == "gzip");
  const auto stream = no_streams.http().Get("/api/many/stream", accepting("gzip"));
  REQUIRE(stream);
  CHECK_FALSE(stream->has_header("Content-Encoding"));  // past max_streams: as it is
  CHECK(stream->body.find("\"complete\":true") != std::string::npos);
  running_service gzip_only{compressing_config(upstream, R"({"encodings":["gzip"],"gzip_level":9})")};
  CHECK(gzip_only.http().Get("/api/many", accepting("br, gzip;q=0.5"))->get_header_value("Content-Encoding") == "gzip");
  const auto bad = agg::config::parse_config(
      R"({"server":{"compression":{"br_level":12,"encodings":["lz4"]}},"routes":[{"name":"r","path":"/r",
         "upstreams":[{"url":"http://127.0.0.1:1/"}]}]})");
  REQUIRE(bad.index() == 1);
  const auto &errors = std::get<agg::config::config_errors>(bad);
  REQUIRE(errors.size() == 2);
  CHECK(to_string(errors[0]) == "server.compression.br_level: must be an integer from 0 to 11");
  CHECK(to_string(errors[1]) == "server.compression.encodings[0]: must be zstd, br or gzip");
}

TEST_CASE("a compressed stream sends each line as its call finishes") {
  local_upstream upstream;
  running_service service{compressing_config(upstream, "{}")};
  std::string seen;
  std::thread releaser;
  const auto r = service.http().Get("/api/held/stream", accepting("gzip"), [&](const char *data, std::size_t size) {
    seen.append(data, size);
    // The first call's line arrives, decoded, while the second call is still held at its barrier:
    // only then does the test send the barrier's other request, which lets the second call answer.
    if (!releaser.joinable() && seen.find("\"task_id\":\"first\"") != std::string::npos)
      releaser = std::thread{[&upstream] { httplib::Client{"127.0.0.1", upstream.port()}.Get("/api/?barrier=2"); }};
    return true;
  });
  if (releaser.joinable()) releaser.join();
  REQUIRE(r);
  CHECK(r->get_header_value("Content-Encoding") == "gzip");
  CHECK(seen.find("\"task_id\":\"first\"") != std::string::npos);
  CHECK(seen.find("\"task_id\":\"second\"") != std::string::npos);  // released: it was not cut off by its timeout
  CHECK(seen.find("\"complete\":true") != std::string::npos);
}
