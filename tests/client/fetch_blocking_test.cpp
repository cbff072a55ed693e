#include "aggregator/client/fetch_blocking.hpp"

#include <catch2/catch.hpp>

#include <chrono>

#include "aggregator/client/upstream_loop.hpp"
#include "aggregator/coro/sync_wait.hpp"
#include "tests/support/local_upstream.hpp"

using namespace std::chrono_literals;
using agg::calls::outcome_kind;
using agg::calls::upstream_call;
using agg::client::client_options;
using agg::client::fetch_blocking;
using agg::testing::local_upstream;

TEST_CASE("fetch_blocking returns the same reply as the async fetch") {
  local_upstream upstream;
  const upstream_call call{upstream.api("task_id=3"), 5s, 1 << 20};
  const auto blocking = fetch_blocking(call, client_options{});
  agg::client::upstream_loop loop{client_options{}, 10};
  const auto async = agg::coro::sync_wait(loop.fetch(call));
  CHECK(blocking.kind == outcome_kind::ok);
  CHECK(blocking.status == async.status);
  CHECK(blocking.body == async.body);
}

TEST_CASE("sequential blocking fetches on one thread reuse one connection") {
  local_upstream upstream;
  for (int i = 0; i < 5; ++i) {
    const auto reply =
        fetch_blocking(upstream_call{upstream.api("task_id=" + std::to_string(i)), 5s, 1 << 20}, client_options{});
    REQUIRE(reply.status == 200);
  }
  CHECK(upstream.stats().connections_accepted == 1);
  CHECK(upstream.stats().requests == 5);
}

TEST_CASE("fetch_blocking reports failures as replies") {
  const auto refused = fetch_blocking(
      upstream_call{"http://127.0.0.1:" + std::to_string(agg::testing::refused_port()) + "/", 5s, 1 << 20},
      client_options{});
  CHECK(refused.kind == outcome_kind::connect);
  local_upstream upstream;
  const auto slow = fetch_blocking(upstream_call{upstream.api("delay_ms=5000"), 100ms, 1 << 20}, client_options{});
  CHECK(slow.kind == outcome_kind::timeout);
}
