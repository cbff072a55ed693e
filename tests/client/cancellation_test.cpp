// Stopping transfers: stop tokens on the loop and on the blocking path, and aggregation deadlines.

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <stop_token>
#include <thread>

#include "aggregator/client/fetch_blocking.hpp"
#include "aggregator/client/upstream_loop.hpp"
#include "aggregator/coro/sync_wait.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/local_upstream.hpp"

using namespace std::chrono_literals;
using agg::calls::outcome_kind;
using agg::calls::upstream_call;
using agg::calls::upstream_reply;
using agg::client::client_options;
using agg::client::upstream_loop;
using agg::coro::sync_wait;
using agg::testing::eventually;
using agg::testing::local_upstream;

TEST_CASE("a stop request cancels a running fetch and leaves no transfer behind") {
  local_upstream upstream;
  upstream_loop loop{client_options{}, 10};
  std::stop_source stop;
  std::optional<upstream_reply> reply;
  std::thread caller{[&] {
    reply = sync_wait(loop.fetch(upstream_call{upstream.api("delay_ms=60000"), 120s}, stop.get_token()));
  }};
  REQUIRE(eventually([&] { return upstream.stats().in_flight == 1; }));
  CHECK(loop.transfers_in_flight() == 1);
  stop.request_stop();
  caller.join();
  REQUIRE(reply);
  CHECK(reply->kind == outcome_kind::cancelled);
  CHECK(reply->error_detail == "the aggregation was cancelled");
  CHECK(loop.transfers_in_flight() == 0);
  // The upstream sees its connection go: nothing is left running there either.
  CHECK(eventually([&] { return upstream.stats().in_flight == 0; }));
}

TEST_CASE("a fetch whose stop was requested before it started never reaches the upstream") {
  local_upstream upstream;
  upstream_loop loop{client_options{}, 10};
  std::stop_source stop;
  stop.request_stop();
  const auto reply = sync_wait(loop.fetch(upstream_call{upstream.api("task_id=1"), 5s}, stop.get_token()));
  CHECK(reply.kind == outcome_kind::cancelled);
  CHECK(upstream.stats().requests == 0);
}

TEST_CASE("a stop requested after the fetch finished changes nothing") {
  local_upstream upstream;
  upstream_loop loop{client_options{}, 10};
  std::stop_source stop;
  const auto reply = sync_wait(loop.fetch(upstream_call{upstream.api("task_id=1"), 5s}, stop.get_token()));
  stop.request_stop();
  CHECK(reply.kind == outcome_kind::ok);
  // A second fetch proves the loop is still healthy after the late cancel request.
  CHECK(sync_wait(loop.fetch(upstream_call{upstream.api("task_id=2"), 5s})).status == 200);
}

TEST_CASE("a transfer is cut off at the aggregation's deadline and says so") {
  local_upstream upstream;
  upstream_loop loop{client_options{}, 10};
  upstream_call call{upstream.api("delay_ms=60000"), 60s};
  call.deadline = std::chrono::steady_clock::now() + 100ms;
  const auto reply = sync_wait(loop.fetch(call));
  CHECK(reply.kind == outcome_kind::timeout);
  CHECK(reply.deadline_passed);
  CHECK(reply.error_detail.find("deadline") != std::string::npos);
  CHECK(loop.transfers_in_flight() == 0);
}

TEST_CASE("a call's own timeout is a timeout that does not blame the deadline") {
  local_upstream upstream;
  upstream_loop loop{client_options{}, 10};
  upstream_call call{upstream.api("delay_ms=60000"), 100ms};
  call.deadline = std::chrono::steady_clock::now() + 60s;
  const auto reply = sync_wait(loop.fetch(call));
  CHECK(reply.kind == outcome_kind::timeout);
  CHECK_FALSE(reply.deadline_passed);
}

TEST_CASE("a call whose deadline already passed is not started") {
  local_upstream upstream;
  upstream_loop loop{client_options{}, 10};
  upstream_call call{upstream.api("task_id=1"), 5s};
  call.deadline = std::chrono::steady_clock::now() - 1ms;
  const auto reply = sync_wait(loop.fetch(call));
  CHECK(reply.kind == outcome_kind::timeout);
  CHECK(reply.deadline_passed);
  const auto blocking = agg::client::fetch_blocking(call, client_options{});
  CHECK(blocking.kind == outcome_kind::timeout);
  CHECK(upstream.stats().requests == 0);
}

TEST_CASE("fetch_blocking ends as cancelled when its stop is requested") {
  local_upstream upstream;
  std::stop_source stop;
  std::optional<upstream_reply> reply;
  std::thread caller{[&] {
    reply = agg::client::fetch_blocking(upstream_call{upstream.api("delay_ms=60000"), 120s}, client_options{},
                                        stop.get_token());
  }};
  REQUIRE(eventually([&] { return upstream.stats().in_flight == 1; }));
  stop.request_stop();
  caller.join();
  REQUIRE(reply);
  CHECK(reply->kind == outcome_kind::cancelled);
}

TEST_CASE("forwarded header lines reach the upstream") {
  local_upstream upstream;
  upstream_loop loop{client_options{}, 10};
  upstream_call call{upstream.base() + "/echo", 5s};
  call.headers = {"X-User: alice", "Authorization: Bearer t0k"};
  const auto reply = sync_wait(loop.fetch(call));
  REQUIRE(reply.status == 200);
  CHECK(reply.body.find(R"("x-user":"alice")") != std::string::npos);
  CHECK(reply.body.find(R"("authorization":"Bearer t0k")") != std::string::npos);
}

TEST_CASE("each call says User-Agent and Accept-Encoding once, and a call's own lines win") {
  local_upstream upstream;
  upstream_loop loop{client_options{}, 10};
  upstream_call call{upstream.base() + "/echo", 5s};
  const auto plain = sync_wait(loop.fetch(call));
  REQUIRE(plain.status == 200);
  CHECK(plain.body.find(R"("user-agent":"aggregator/0.1")") != std::string::npos);
  CHECK(plain.body.find(R"("accept-encoding":"deflate, gzip)") != std::string::npos);
  // The echo keeps a repeated header's last line, and ours would come after the call's.
  call.headers = {"user-agent: mine/2", "Accept-Encoding: identity"};
  const auto own = sync_wait(loop.fetch(call));
  REQUIRE(own.status == 200);
  CHECK(own.body.find(R"("user-agent":"mine/2")") != std::string::npos);
  CHECK(own.body.find(R"("accept-encoding":"identity")") != std::string::npos);
}
