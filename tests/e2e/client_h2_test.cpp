// HTTP/2 toward clients (`server.http2`): h2c with prior knowledge and h2 by ALPN over TLS, many
// streams at once on one connection, streamed answers as DATA frames, the limits the SETTINGS
// announce, and the defences: rapid reset, PING floods, CONTINUATION floods, a window that never
// opens, and GOAWAY on a graceful shutdown. Clients: libcurl (nghttp2 inside) and nghttp2's own
// client session driven frame by frame (tests/support/h2_client.hpp).
#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "tests/support/curl_client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/h2_client.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/raw_http.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"
#include "tests/support/test_certs.hpp"

using agg::testing::h2_client;
using agg::testing::https_client;
using agg::testing::local_upstream;
using agg::testing::running_service;
using http2 = agg::front::data_plane::http2_event;

namespace {

/// A cleartext service with route `/api/t` (num calls to `url`) and `server` members added.
running_service h2c_service(const std::string &url, const std::string &server = "") {
  return agg::testing::one_route_service(server, url);
}

std::string h2c_base(const running_service &service) { return "http://127.0.0.1:" + std::to_string(service.port()); }

}  // namespace

TEST_CASE("h2c with prior knowledge: an aggregation, a probe and a stream over HTTP/2, and HTTP/1.1 on the same port") {
  local_upstream upstream;
  auto service = h2c_service(upstream.api("task_id={i}"));
  // A client each: Debian's curl 7.88 cannot reuse a prior-knowledge connection (curl#10634).
  const auto h2c_get = [&](const std::string &target) {
    https_client client{"-"};
    client.http_version(CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    return client.get(h2c_base(service) + target);
  };
  const auto answer = h2c_get("/api/t?num=3");
  REQUIRE(answer.code == CURLE_OK);
  CHECK(answer.status == 200);
  CHECK(answer.version == CURL_HTTP_VERSION_2_0);
  CHECK(boost::json::parse(answer.body).at("responses").as_array().size() == 3);
  CHECK(h2c_get("/health").status == 200);
  const auto stream = h2c_get("/api/t/stream?num=2");
  CHECK(stream.status == 200);
  CHECK(std::count(stream.body.begin(), stream.body.end(), '\n') == 3);  // two calls and the summary
  CHECK(service.plane().http2_count(http2::connection) == 3);

  const auto old = https_client{"-"}.get(h2c_base(service) + "/health");
  CHECK(old.status == 200);
  CHECK(old.version == CURL_HTTP_VERSION_1_1);
}

TEST_CASE(
    "h2 by ALPN over TLS, HTTP/1.1 for a client that offers only it, and only HTTP/1.1 with http2.enabled false") {
  agg::testing::test_certs certs;
  local_upstream upstream;
  const std::string tls =
      R"(,"tls":{"cert_file":")" + certs.pem("server") + R"(","key_file":")" + certs.key("server") + R"("})";
  auto service = h2c_service(upstream.api("task_id={i}"), tls);
  const std::string url = "https://127.0.0.1:" + std::to_string(service.port()) + "/api/t?num=2";
  https_client h2{certs.pem("ca")};
  h2.http_version(CURL_HTTP_VERSION_2TLS);
  const auto answer = h2.get(url);
  REQUIRE(answer.code == CURLE_OK);
  CHECK(answer.status == 200);
  CHECK(answer.version == CURL_HTTP_VERSION_2_0);
  const auto again = h2.get(url);  // on the same connection
  CHECK(again.status == 200);
  CHECK(again.connects == 0);
  CHECK(service.plane().http2_count(http2::connection) == 1);
  CHECK(https_client{certs.pem("ca")}.get(url).version == CURL_HTTP_VERSION_1_1);

  auto off = h2c_service(upstream.api("task_id={i}"), tls + R"(,"http2":{"enabled":false})");
  https_client asks_h2{certs.pem("ca")};
  asks_h2.http_version(CURL_HTTP_VERSION_2TLS);
  const auto refused = asks_h2.get("https://127.0.0.1:" + std::to_string(off.port()) + "/health");
  CHECK(refused.status == 200);
  CHECK(refused.version == CURL_HTTP_VERSION_1_1);
  // Cleartext with HTTP/2 off: the preface is a request HTTP/1.1 refuses.
  auto plain_off = h2c_service(upstream.api("task_id=1"), R"(,"http2":{"enabled":false})");
  const auto refused_preface = agg::testing::raw_until_close(plain_off.port(), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  CHECK(refused_preface.closed_by_server);
  CHECK(agg::testing::statuses_in(refused_preface.bytes) == std::vector<int>{505});
  CHECK(plain_off.plane().http2_count(http2::connection) == 0);
}

TEST_CASE("streams on one HTTP/2 connection are served at once, and a stream's lines arrive as its calls finish") {
  local_upstream upstream;
  auto service = h2c_service(upstream.api("delay_ms=800&task_id={i}"));
  h2_client client{service.port()};
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(client.request("/api/t?num=2"));
  // All ten aggregations run together: none waits for another on the one connection.
  CHECK(client.run_until([&] { return service.aggregations_in_flight() == 10; }));
  for (const auto id : ids) {
    REQUIRE(client.finish(id));
    CHECK(client.stream(id).status == 200);
    CHECK(boost::json::parse(client.stream(id).body).at("succeeded").as_int64() == 2);
  }
  CHECK(service.plane().http2_count(http2::connection) == 1);

  // A stream: a fast call's line arrives as a DATA frame while the slow one still runs.
  local_upstream fast;
  auto mixed = running_service{agg::testing::config_from(
      R"({"server":{"listen":"127.0.0.1:0"},"routes":[{"name":"m","path":"/api/m","upstreams":[{"url":")" +
      fast.api("task_id=1") + R"("},{"url":")" + upstream.api("delay_ms=60000") + R"("}]}]})")};
  h2_client streamed{mixed.port()};
  const auto id = streamed.request("/api/m/stream");
  REQUIRE(streamed.run_until([&] { return streamed.stream(id).body.find('\n') != std::string::npos; }));
  CHECK(streamed.stream(id).status == 200);
  CHECK(!streamed.stream(id).closed);
  CHECK(mixed.aggregations_in_flight() == 1);  // the slow call still runs
  // Resetting it cancels the aggregation: the slow call does not hold it.
  streamed.reset(id);
  streamed.flush();
  CHECK(agg::testing::eventually([&] { return mixed.aggregations_in_flight() == 0; }));
  const auto again = streamed.request("/health");
  REQUIRE(streamed.finish(again));
  CHECK(streamed.stream(again).status == 200);  // one reset does not cost the connection
}

TEST_CASE("the SETTINGS announce the configured limits and a stream past them gets 431, 413 or 414 in JSON") {
  local_upstream upstream;
  auto service = h2c_service(upstream.api("task_id=1"), R"(,"http2":{"max_concurrent_streams":7,
      "max_header_list_bytes":12288,"max_frame_bytes":32768,"initial_window_bytes":131072})");
  h2_client client{service.port()};
  const auto probe = client.request("/health");
  REQUIRE(client.finish(probe));
  CHECK(client.server_setting(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) == 7);
  CHECK(client.server_setting(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE) == 12288);
  CHECK(client.server_setting(NGHTTP2_SETTINGS_MAX_FRAME_SIZE) == 32768);
  CHECK(client.server_setting(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE) == 131072);

  const auto big_head = client.request("/health", {{"x-filler", std::string(13000, 'a')}});
  const auto big_body = client.request("/api/jobs", {{"content-type", "application/json"}}, std::string(2 << 20, ' '));
  const auto long_path = client.request("/health?" + std::string(9000, 'q'));
  for (const auto &[id, status, code] :
       {std::tuple{big_head, 431, "headers_too_large"}, std::tuple{big_body, 413, "payload_too_large"},
        std::tuple{long_path, 414, "uri_too_long"}}) {
    INFO(code);
    REQUIRE(client.finish(id));
    CHECK(client.stream(id).status == status);
    CHECK(boost::json::parse(client.stream(id).body).at("error").at("code").as_string() == code);
  }
  const auto after = client.request("/health");
  REQUIRE(client.finish(after));
  CHECK(client.stream(after).status == 200);  // refusals are the stream's, not the connection's
}

TEST_CASE("an HTTP/2 connection in use outlives the keep-alive and request times, and one left idle gets GOAWAY") {
  local_upstream upstream;
  auto service = h2c_service(upstream.api("task_id=1"), R"(,"keep_alive_timeout_ms":300,"request_timeout_ms":300)");
  h2_client busy{service.port()};
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds{800};
  int answered = 0;
  while (std::chrono::steady_clock::now() < until && !busy.closed()) {
    const auto id = busy.request("/health");  // each answered within the read that brought it
    REQUIRE(busy.finish(id));
    answered += busy.stream(id).status == 200 ? 1 : 0;
    busy.run_until([&] { return busy.closed(); }, std::chrono::milliseconds{50});
  }
  CHECK(!busy.closed());
  CHECK(!busy.goaway().has_value());
  CHECK(answered > 5);
  // Left alone, it is closed as idle, with GOAWAY (NO_ERROR) first.
  CHECK(busy.run_until([&] { return busy.closed(); }, std::chrono::seconds{5}));
  REQUIRE(busy.goaway().has_value());
  CHECK(busy.goaway()->first == NGHTTP2_NO_ERROR);
}

TEST_CASE("rapid reset: streams reset right after their headers cancel their aggregations, then GOAWAY") {
  local_upstream upstream;
  auto service = h2c_service(upstream.api("delay_ms=60000"), R"(,"http2":{"max_resets_per_s":20})");
  {
    h2_client attacker{service.port()};
    for (int i = 0; i < 200; ++i) {
      const auto id = attacker.request("/api/t");
      if (!attacker.flush()) break;  // the HEADERS leave first: a reset of a queued request would cancel it unsent
      attacker.reset(id);
    }
    REQUIRE(attacker.run_until([&] { return attacker.goaway().has_value() && attacker.closed(); }));
    CHECK(attacker.goaway()->first == NGHTTP2_ENHANCE_YOUR_CALM);
    CHECK(service.plane().http2_count(http2::rapid_reset) == 1);
  }
  CHECK(agg::testing::eventually([&] { return service.aggregations_in_flight() == 0; }));
  CHECK(agg::testing::eventually([&] { return service.plane().open_connections() == 0; }));
  CHECK(agg::testing::h2_status(service.port(), "/health") == 200);  // a well-behaved client is served
}

TEST_CASE("a PING flood ends with GOAWAY, a CONTINUATION flood closes the connection, others are served") {
  local_upstream upstream;
  auto service = h2c_service(upstream.api("task_id=1"), R"(,"http2":{"max_control_frames_per_s":50})");
  h2_client pinger{service.port()};
  for (int i = 0; i < 500; ++i) pinger.ping();
  REQUIRE(pinger.run_until([&] { return pinger.goaway().has_value() && pinger.closed(); }));
  CHECK(pinger.goaway()->first == NGHTTP2_ENHANCE_YOUR_CALM);
  CHECK(service.plane().http2_count(http2::control_flood) == 1);

  // HEADERS without END_HEADERS, then CONTINUATION frames that never end the block (CVE-2024-27316).
  h2_client flooder{service.port()};
  REQUIRE(flooder.flush());  // the preface and SETTINGS
  const std::string block =
      "\x82\x86\x84\x41\x09"
      "127.0.0.1";  // GET http / :authority 127.0.0.1 (HPACK)
  std::string frames = agg::testing::h2_frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM, 1, block);
  for (int i = 0; i < 100; ++i)
    frames += agg::testing::h2_frame(NGHTTP2_CONTINUATION, 0, 1, "\x40\x01x\x01y");  // x: y, literal
  flooder.send_raw(frames);
  CHECK(flooder.run_until([&] { return flooder.closed(); }));
  CHECK(service.plane().http2_count(http2::protocol_error) == 1);

  // Not HTTP/2 after the preface: GOAWAY (PROTOCOL_ERROR) from nghttp2 itself, counted the same.
  const auto garbage = agg::testing::raw_until_close(
      service.port(), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(garbage.closed_by_server);
  CHECK(garbage.bytes.find(std::string{"\x07\0\0\0\0\0", 6}) !=
        std::string::npos);  // a GOAWAY frame's type, flags, stream 0
  CHECK(service.plane().http2_count(http2::protocol_error) == 2);
  CHECK(agg::testing::h2_status(service.port(), "/api/t") == 200);
}

TEST_CASE("a client that never opens its window is cut off by the send deadline, and what it pinned is let go") {
  local_upstream upstream;
  auto service = h2c_service(upstream.api("fault=oversized&size=200000&task_id={i}"), R"(,"send_timeout_ms":300)");
  h2_client stalled{service.port(), {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 0}}};
  const auto id = stalled.request("/api/t?num=5");
  REQUIRE(stalled.run_until([&] { return stalled.stream(id).status == 200; }));
  CHECK(service.plane().unsent().held() > 0);  // the answer waits for a window that never opens
  // PINGs it answers are no progress of the answer: they do not keep the connection.
  const auto started = std::chrono::steady_clock::now();
  while (!stalled.closed() && std::chrono::steady_clock::now() - started < std::chrono::seconds{5}) {
    stalled.ping();
    stalled.run_until([&] { return stalled.closed(); }, std::chrono::milliseconds{50});
  }
  CHECK(stalled.closed());
  CHECK(stalled.stream(id).body.empty());
  CHECK(agg::testing::eventually([&] { return service.plane().unsent().held() == 0; }));
}

TEST_CASE("a graceful shutdown says GOAWAY on an HTTP/2 connection and still answers its open stream") {
  local_upstream upstream;
  auto service = h2c_service(upstream.api("delay_ms=500"));
  std::optional<h2_client> client{service.port()};
  const auto id = client->request("/api/t");
  REQUIRE(client->run_until([&] { return service.aggregations_in_flight() == 1; }));
  std::thread stopping{[&] { service.shut_down(std::chrono::seconds{20}); }};
  REQUIRE(client->finish(id));
  CHECK(client->stream(id).status == 200);
  REQUIRE(client->goaway().has_value());
  CHECK(client->goaway()->first == NGHTTP2_NO_ERROR);
  CHECK(client->goaway()->second >= id);
  CHECK(client->run_until([&] { return client->closed(); }));  // the service closed it, once its stream was answered
  client.reset();
  stopping.join();
}
