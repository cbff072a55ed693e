#include "aggregator/fanout/run_plan.hpp"

#include <catch2/catch.hpp>

#include "aggregator/coro/sync_wait.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/routes.hpp"

using namespace std::chrono_literals;
using agg::calls::outcome_kind;
using agg::fanout::execution_mode;

TEST_CASE("the async and the sync path produce the same aggregate, the sync one call at a time") {
  agg::testing::local_upstream upstream;
  const auto config = agg::testing::demo_config(upstream.api("delay_ms=20&task_id={i}"));
  agg::client::upstream_client client{config.client};
  auto planned = agg::fanout::make_plan(config.routes[0], {{"num", "6"}});
  const auto &plan = std::get<agg::fanout::fan_out_plan>(planned);

  const auto async = agg::fanout::run_async(client, plan);
  const auto sync = agg::fanout::run_sync(client.options(), plan);
  CHECK(async.mode == execution_mode::async);
  CHECK(sync.mode == execution_mode::sync);
  REQUIRE(async.results.size() == 6);
  REQUIRE(sync.results.size() == 6);
  for (std::size_t i = 0; i < 6; ++i) {
    CHECK(async.results[i].kind == outcome_kind::ok);
    CHECK(async.results[i].body == sync.results[i].body);
    CHECK(async.results[i].url == sync.results[i].url);
  }
  // Sequential means each call starts after the previous one ended.
  for (std::size_t i = 1; i < 6; ++i)
    CHECK(sync.results[i].start_offset >= sync.results[i - 1].start_offset + sync.results[i - 1].duration);
  CHECK(sync.finished - sync.started >= 6 * 20ms);
  CHECK(client.transfers_in_flight() == 0);
}
