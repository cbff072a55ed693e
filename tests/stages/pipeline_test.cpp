#include "aggregator/stages/pipeline.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include "aggregator/client/upstream_client.hpp"
#include "aggregator/coro/sync_wait.hpp"
#include "aggregator/fanout/run_plan.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/routes.hpp"

using namespace std::chrono_literals;
using agg::calls::outcome_kind;
using agg::testing::local_upstream;

namespace {

/// A route `r` over `upstream` with `route_json` (its behaviours) and one repeated entry `query`.
agg::config::service_config route_over(const local_upstream &upstream, const std::string &route_json,
                                       const std::string &query, const std::string &client_json = "{}") {
  return agg::testing::config_from(R"({"server":{"listen":"127.0.0.1:0"},"client":)" + client_json +
                                   R"(,"routes":[{"name":"r","path":"/r",)" + route_json +
                                   R"(,"num":{"default":1,"max":50},"upstreams":[{"url":")" + upstream.api(query) +
                                   R"(","repeat":true}]}]})");
}

std::vector<agg::stages::call_outcome> run(agg::client::upstream_client &client,
                                           const std::shared_ptr<agg::stages::shared_state> &shared,
                                           const agg::config::route_ptr &route, std::size_t num, bool blocking = false,
                                           std::stop_token stop = {}) {
  const auto pipeline = agg::stages::pipeline::make(route, shared);
  auto planned = agg::fanout::make_plan(route, {{"num", std::to_string(num)}});
  auto &plan = std::get<agg::fanout::fan_out_plan>(planned);
  const auto site = blocking ? agg::stages::call_site::blocking(client.options())
                             : agg::stages::call_site::on_loop(client.pick_loop());
  return agg::coro::sync_wait(agg::fanout::run_plan(&plan, &pipeline->entry(), site, std::move(stop)));
}

long calls_with_key(const local_upstream &upstream, const std::string &key, agg::client::upstream_client &client) {
  auto planned_call = agg::calls::upstream_call{upstream.base() + "/calls?key=" + key};
  const auto reply = agg::coro::sync_wait(client.pick_loop().fetch(planned_call));
  return boost::json::parse(reply.body).at("calls").as_int64();
}

}  // namespace

TEST_CASE("a route that asks for nothing calls the fetch directly") {
  local_upstream upstream;
  const auto config = route_over(upstream, R"("message":"m")", "task_id={i}");
  const auto shared = std::make_shared<agg::stages::shared_state>(1, 0);
  const auto pipeline = agg::stages::pipeline::make(config.routes[0], shared);
  CHECK(dynamic_cast<agg::stages::fetch_stage *>(&pipeline->entry()) != nullptr);
}

TEST_CASE("a route's behaviours are stacked outermost first: cache, coalesce, hedge, retry, breaker, origin cap") {
  local_upstream upstream;
  const auto config =
      route_over(upstream, R"("cache":{"ttl_ms":1000},"coalesce":true,"hedge":{"after_ms":10},"retry":{},"breaker":{})",
                 "task_id={i}");
  const auto shared = std::make_shared<agg::stages::shared_state>(1, 8);
  const auto pipeline = agg::stages::pipeline::make(config.routes[0], shared);
  CHECK(dynamic_cast<agg::stages::cache_stage *>(&pipeline->entry()) != nullptr);
}

TEST_CASE("retries, breaker and per-origin stats against a real upstream that fails each key's first call") {
  local_upstream upstream;
  const auto config = route_over(upstream, R"("retry":{"attempts":3,"backoff_ms":1},"breaker":{"failures":50})",
                                 "task_id={i}&key=p{i}&fail_first=1");
  agg::client::upstream_client client{config.client};
  const auto shared = std::make_shared<agg::stages::shared_state>(client.loop_count(), 0);
  const auto outcomes = run(client, shared, config.routes[0], 4);
  for (const auto &o : outcomes) {
    CHECK(o.reply.status == 200);
    CHECK(o.attempts == 2);
  }
  CHECK(calls_with_key(upstream, "p0", client) == 2);
  const auto seen = shared->origin(upstream.base()).stats.read();
  CHECK(seen.calls.labelled("ok") == 4);
  CHECK(seen.calls.labelled("http_5xx") == 4);
  CHECK(seen.timed == 8);
}

TEST_CASE("the sync baseline goes through the same stages over the blocking fetch") {
  local_upstream upstream;
  const auto config =
      route_over(upstream, R"("retry":{"attempts":3,"backoff_ms":1})", "task_id={i}&key=s{i}&fail_first=2");
  agg::client::upstream_client client{config.client};
  const auto shared = std::make_shared<agg::stages::shared_state>(client.loop_count(), 0);
  const auto outcomes = run(client, shared, config.routes[0], 2, true);
  CHECK(outcomes[0].reply.status == 200);
  CHECK(outcomes[0].attempts == 3);
  CHECK(calls_with_key(upstream, "s1", client) == 3);
}

TEST_CASE("a hedged real transfer that loses is removed from curl at once") {
  local_upstream upstream;
  // Each key's first call takes a minute; the hedge (its second) answers at once.
  const auto config =
      route_over(upstream, R"("hedge":{"after_ms":20})", "task_id={i}&key=h{i}&slow_first=1&slow_ms=60000");
  agg::client::upstream_client client{config.client};
  const auto shared = std::make_shared<agg::stages::shared_state>(client.loop_count(), 0);
  const auto outcomes = run(client, shared, config.routes[0], 3);
  for (const auto &o : outcomes) {
    CHECK(o.reply.status == 200);
    CHECK(o.hedged == 1u);
    CHECK(o.attempts == 2);
  }
  CHECK(client.transfers_in_flight() == 0);
  CHECK(shared->route("r").counters.hedges_won == 3);
}

TEST_CASE("many hedged transfers removed mid-response leave no later call hanging") {
  // Every round cancels losers mid-response; the next round's calls must all be answered.
  local_upstream upstream;
  // A small connection cache makes curl close idle connections as hedges open new ones.
  const auto config = route_over(upstream, R"("hedge":{"after_ms":1})", "task_id={i}&delay_ms=2",
                                 R"({"loops":1,"shards_per_loop":1,"max_connections":8})");
  agg::client::upstream_client client{config.client};
  const auto shared = std::make_shared<agg::stages::shared_state>(client.loop_count(), 0);
  std::size_t hedged = 0;
  for (int round = 0; round < 40; ++round) {
    const auto outcomes = run(client, shared, config.routes[0], 25);
    for (const auto &o : outcomes) {
      REQUIRE(o.reply.status == 200);
      if (o.hedged) ++hedged;
    }
  }
  CHECK(hedged > 0);
  CHECK(client.transfers_in_flight() == 0);
}
