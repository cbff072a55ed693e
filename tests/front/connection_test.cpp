// An idle or slow client costs memory, never a thread: every wait of a data-plane connection has a
// deadline, and past server.max_connections new connections are refused while open ones are served.

#include "aggregator/front/connection.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "aggregator/process/process_setup.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/raw_http.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"

using namespace std::chrono_literals;
using agg::testing::eventually;
using agg::testing::local_upstream;
using agg::testing::raw_connection;
using agg::testing::running_service;
using agg::testing::statuses_in;

namespace {

/// The demo route on `upstream`, with the server settings a test sets.
agg::config::service_config config_with(const local_upstream &upstream, const std::string &server) {
  return agg::testing::config_from(R"({"server":{)" + server +
                                   R"(},"client":{"loops":2,"shards_per_loop":4},"routes":[{"name":"demo",)"
                                   R"("path":"/api/demo","num":{"default":2,"max":50},"accept_non_json":true,)"
                                   R"("max_body_bytes":33554432,"upstreams":[{"url":")" +
                                   upstream.api("task_id={i}") + R"(","repeat":true}]}]})");
}

const std::string health = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

/// Points the demo route at one 16 MiB body, more than the kernel's socket buffers on both sides
/// hold, and asks for it on a connection that reads nothing.
std::unique_ptr<raw_connection> reader_that_stalls(running_service &service, const local_upstream &upstream) {
  const auto url = upstream.api("fault=oversized&size=16777216");
  REQUIRE(service.routes()
              .patch("demo", boost::json::parse(R"({"upstreams":[{"url":")" + url + R"("}],"num":null})"))
              .index() == 0);
  auto stalled = std::make_unique<raw_connection>(service.port(), 4096);
  REQUIRE(stalled->send("GET /api/demo HTTP/1.1\r\nHost: x\r\n\r\n"));
  return stalled;
}

}  // namespace

TEST_CASE("a connection that never sends a byte is closed at the request timeout") {
  local_upstream upstream;
  running_service service{config_with(upstream, R"("request_timeout_ms":200)")};
  raw_connection idle{service.port()};
  REQUIRE(idle.connected());
  const auto reply = idle.read_until_close();
  CHECK(reply.closed_by_server);
  CHECK(reply.bytes.empty());
  CHECK(eventually([&] { return service.plane().open_connections() == 0; }));
}

TEST_CASE("a head dripped a byte at a time is cut off at the request timeout with 408") {
  local_upstream upstream;
  running_service service{config_with(upstream, R"("request_timeout_ms":300)")};
  raw_connection drip{service.port()};
  REQUIRE(drip.send("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  // Each byte arrives well within the timeout: only a deadline counted from the first byte ends it.
  while (!drip.readable_within(20ms)) REQUIRE(drip.send("a"));
  const auto reply = drip.read_until_close();
  CHECK(statuses_in(reply.bytes) == std::vector<int>{408});
  CHECK(reply.bytes.find("\"request_timeout\"") != std::string::npos);
  CHECK(reply.closed_by_server);
}

TEST_CASE("an idle keep-alive connection is closed after the keep-alive timeout") {
  local_upstream upstream;
  running_service service{config_with(upstream, R"("keep_alive_timeout_ms":200)")};
  raw_connection client{service.port()};
  REQUIRE(client.send(health));
  CHECK(client.read_response().starts_with("HTTP/1.1 200"));
  const auto rest = client.read_until_close();
  CHECK(rest.closed_by_server);
  CHECK(rest.bytes.empty());
}

TEST_CASE("past max_connections a new connection takes the place of one that sent nothing, or is closed at once") {
  agg::process::raise_fd_limit();
  local_upstream upstream;
  running_service service{config_with(upstream, R"("max_connections":100,"request_timeout_ms":60000)")};
  raw_connection kept{service.port()};
  REQUIRE(kept.send(health));
  REQUIRE(kept.read_response().starts_with("HTTP/1.1 200"));

  // A small flood: idle connections and heads dripped one byte at a time, far past the cap.
  std::vector<std::unique_ptr<raw_connection>> flood;
  for (int i = 0; i < 2'000; ++i) flood.push_back(std::make_unique<raw_connection>(service.port()));
  // The kernel hands over a connection that sends nothing after a second (TCP_DEFER_ACCEPT): these
  // are in before the heads come.
  REQUIRE(eventually([&] {
    return service.plane().open_connections() + service.plane().refused_connections() +
               service.plane().evicted_connections() >=
           2'001;
  }));
  for (int i = 0; i < 200; ++i) {
    flood.push_back(std::make_unique<raw_connection>(service.port()));
    flood.back()->send("G");
  }
  // Each connection past the cap closed the oldest one that had sent nothing, or, with none left
  // (the drip-fed heads have begun a request), was closed itself; the kept-alive client stays.
  REQUIRE(eventually(
      [&] { return service.plane().refused_connections() + service.plane().evicted_connections() >= 2'100; }));
  CHECK(service.plane().evicted_connections() >= 1'000);  // each loop makes room among its own
  CHECK(eventually([&] { return service.plane().open_connections() == 100; }));

  REQUIRE(kept.send(health));
  CHECK(kept.read_response().starts_with("HTTP/1.1 200"));
  REQUIRE(kept.send("GET /api/demo?num=3 HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string aggregation = kept.read_response();
  CHECK(aggregation.starts_with("HTTP/1.1 200"));
  CHECK(aggregation.find(R"("task_id":"2")") != std::string::npos);
  auto control = service.admin();  // the control plane has its own listener and its own cap
  const auto probe = control.Get("/health");
  REQUIRE(probe);
  CHECK(probe->status == 200);

  flood.clear();
  CHECK(eventually([&] { return service.plane().open_connections() == 1; }));
}

TEST_CASE("a data plane full of connections that send nothing still answers a new connection's probe") {
  agg::process::raise_fd_limit();
  local_upstream upstream;
  running_service service{config_with(upstream, R"("max_connections":50,"request_timeout_ms":60000)")};
  std::vector<std::unique_ptr<raw_connection>> flood;
  for (int i = 0; i < 300; ++i) flood.push_back(std::make_unique<raw_connection>(service.port()));
  const bool made_room = eventually([&] { return service.plane().evicted_connections() >= 250; });
  INFO("evicted " << service.plane().evicted_connections() << ", refused " << service.plane().refused_connections()
                  << ", open " << service.plane().open_connections());
  REQUIRE(made_room);
  for (int probe = 0; probe < 10; ++probe) {
    INFO(probe);
    CHECK(agg::testing::raw_exchange(service.port(), health).starts_with("HTTP/1.1 200"));
  }
  CHECK(service.plane().refused_connections() == 0);
}

TEST_CASE("an answer the client does not read is dropped after the send timeout") {
  local_upstream upstream;
  running_service service{config_with(upstream, R"("send_timeout_ms":200)")};
  const auto stalled = reader_that_stalls(service, upstream);
  REQUIRE(eventually([&] { return upstream.stats().requests == 1 && service.aggregations_in_flight() == 0; }));
  CHECK(eventually([&] { return service.plane().open_connections() == 0; }));
}

TEST_CASE("while answers nobody reads hold more than server.max_unsent_bytes, requests wait (503) and probes answer") {
  local_upstream upstream;
  running_service service{config_with(upstream, R"("max_unsent_bytes":1048576)")};
  auto stalled = reader_that_stalls(service, upstream);
  REQUIRE(eventually([&] { return service.plane().unsent().held() > 1048576; }));
  auto http = service.http();
  const auto refused = http.Get("/api/jobs/none");
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(refused->get_header_value("Retry-After") == "1");
  CHECK(refused->body.find("server.max_unsent_bytes (1048576)") != std::string::npos);
  const auto probe = http.Get("/health");
  REQUIRE(probe);
  CHECK(probe->status == 200);
  stalled.reset();  // the slow reader leaves: its bytes go with it
  REQUIRE(eventually([&] { return service.plane().unsent().held() == 0; }));
  const auto served = http.Get("/api/jobs/none");
  REQUIRE(served);
  CHECK(served->status == 404);
}

TEST_CASE("HEAD on a route gets the head a GET would get without running a call, and the connection goes on") {
  local_upstream upstream;
  running_service service{config_with(upstream, "")};
  const auto reply = agg::testing::raw_until_close(service.port(),
                                                   "HEAD /api/demo?num=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                                                   "HEAD /api/demo_sync?num=2 HTTP/1.1\r\nHost: x\r\n\r\n"
                                                   "HEAD /api/demo/stream HTTP/1.1\r\nHost: x\r\n\r\n"
                                                   "HEAD /api/demo?num=x HTTP/1.1\r\nHost: x\r\n\r\n"
                                                   "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(statuses_in(reply.bytes, {0, 1, 2, 3}) == std::vector<int>{200, 200, 200, 400, 200});
  const auto first_body = reply.bytes.find("\r\n\r\n") + 4;
  CHECK(reply.bytes.compare(first_body, 9, "HTTP/1.1 ") == 0);  // no body after the HEAD's head
  CHECK(reply.bytes.find("Content-Type: application/x-ndjson") != std::string::npos);
  // Only the calls could tell a length: none is claimed, least of all a false 0.
  CHECK(reply.bytes.find("Content-Length: 0") == std::string::npos);
  CHECK(reply.bytes.find("Transfer-Encoding") == std::string::npos);
  CHECK(upstream.stats().requests == 0);
}

TEST_CASE("the sync baseline answers 503 once its threads and its queue are taken") {
  local_upstream upstream;
  auto config = config_with(upstream, R"("sync_threads":1,"sync_queue":0)");
  running_service service{std::move(config)};
  REQUIRE(service.routes()
              .patch("demo", boost::json::parse(R"({"upstreams":[{"url":")" + upstream.api("barrier=2&task_id=held") +
                                                R"("}],"num":null})"))
              .index() == 0);
  std::optional<httplib::Result> held;
  std::thread holder{[&] { held.emplace(service.http().Get("/api/demo_sync")); }};
  REQUIRE(eventually([&] { return upstream.stats().in_flight == 1; }));
  const auto refused = service.http().Get("/api/demo_sync");
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(refused->get_header_value("Retry-After") == "1");
  CHECK(service.http().Get("/api/demo")->status != 503);  // the async path does not share the pool
  holder.join();
  REQUIRE(held);
  REQUIRE(*held);
  CHECK((*held)->status == 200);
}
