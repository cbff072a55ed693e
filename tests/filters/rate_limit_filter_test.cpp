#include "aggregator/filters/rate_limit_filter.hpp"

#include <catch2/catch.hpp>

#include "aggregator/coro/sync_wait.hpp"
#include "aggregator/stages/shared_state.hpp"
#include "tests/support/recording_responder.hpp"
#include "tests/support/routes.hpp"

using namespace agg;
using namespace std::chrono_literals;

namespace {

/// The route `orders` with `limit` as its rate_limit.
config::route_ptr limited_by(const std::string &limit) {
  return testing::route_from(R"({"name":"orders","path":"/api/orders","rate_limit":)" + limit +
                             R"(,"upstreams":[{"url":"http://127.0.0.1:9/x"}]})");
}

/// What charging `calls` to `r`'s call limit answers.
std::optional<http::response> charge(filters::request_context &r, std::size_t calls) {
  return coro::sync_wait(r.charge_calls(r, calls));
}

struct harness {
  quota::rate_limiter::clock::time_point now{};
  runtime::metrics stats;
  filters::rate_limit_filter filter{stats, nullptr, nullptr, [this] { return now; }};
  filters::filter_chain chain = testing::chain_of();

  /// The filter's answer to a request on `route` from `who` (none: by address) with `headers`.
  std::pair<std::optional<http::response>, filters::request_context> send(
      const config::route_ptr &route, std::optional<std::string> who = {},
      std::vector<http::header_field> headers = {}) {
    auto x = testing::exchange_for(chain, std::make_shared<testing::recording_responder>(),
                                   testing::request_for("GET", "/api/orders", std::move(headers)));
    x.request().match.route = route;
    if (who) x.request().identity = auth::identity{auth::identity::kind::api_key, *who, nullptr};
    auto answer = filter.on_request(x);
    return {std::move(answer), std::move(x.request())};
  }
};

}  // namespace

TEST_CASE("a route's request limit: 429 past the burst, with Retry-After, the RateLimit headers and a JSON error") {
  harness h;
  const auto route = limited_by(R"({"requests_per_s":2,"burst":2})");
  auto first = h.send(route, "alice");
  CHECK_FALSE(first.first);
  CHECK(first.second.rate_limit_policy == "\"requests\";q=2;w=1");
  CHECK(first.second.rate_limit == "\"requests\";r=1;t=1");
  CHECK_FALSE(h.send(route, "alice").first);
  auto refused = h.send(route, "alice");
  REQUIRE(refused.first);
  CHECK(refused.first->status == 429);
  CHECK(testing::header_value(*refused.first, "Retry-After") == "1");
  CHECK(refused.first->body.find("\"rate_limited\"") != std::string::npos);
  CHECK(refused.first->body.find("route orders allows 2 requests per second (bursts of 2) per client") !=
        std::string::npos);
  // Another client has its own allowance; and the refused one gets one after 500 ms.
  CHECK_FALSE(h.send(route, "bob").first);
  h.now += 500ms;
  CHECK_FALSE(h.send(route, "alice").first);
}

TEST_CASE("the client key is the identity, else the address, key route shares one allowance, header keys by value") {
  harness h;
  const auto by_client = limited_by(R"({"requests_per_s":1,"burst":1})");
  CHECK_FALSE(h.send(by_client).first);  // 192.0.2.1
  CHECK(h.send(by_client).first->status == 429);
  CHECK_FALSE(h.send(by_client, "alice").first);

  harness shared;
  const auto by_route = limited_by(R"({"key":"route","requests_per_s":1,"burst":1})");
  CHECK_FALSE(shared.send(by_route, "alice").first);
  CHECK(shared.send(by_route, "bob").first->status == 429);

  harness tenants;
  const auto by_tenant = limited_by(R"({"key":"header:X-Tenant","requests_per_s":1})");
  CHECK_FALSE(tenants.send(by_tenant, {}, {{"X-Tenant", "a"}}).first);
  CHECK_FALSE(tenants.send(by_tenant, {}, {{"X-Tenant", "b"}}).first);
  CHECK(tenants.send(by_tenant, {}, {{"X-Tenant", "a"}}).first->status == 429);
}

TEST_CASE("calls_per_s charges a request the calls its plan makes, one that can never fit says so") {
  harness h;
  const auto route = limited_by(R"({"calls_per_s":100,"burst_calls":50})");
  auto [answer, request] = h.send(route, "alice");
  REQUIRE_FALSE(answer);
  REQUIRE(request.charge_calls);
  CHECK_FALSE(charge(request, 30));
  CHECK(request.rate_limit == "\"calls\";r=20;t=1");
  auto again = h.send(route, "alice").second;
  const auto over = charge(again, 30);
  REQUIRE(over);
  CHECK(over->status == 429);
  CHECK(over->body.find("\"calls_rate_limited\"") != std::string::npos);
  auto third = h.send(route, "alice").second;
  const auto never = charge(third, 51);
  REQUIRE(never);
  CHECK(never->status == 429);
  CHECK(testing::header_value(*never, "Retry-After").empty());
  CHECK(never->body.find("makes 51 upstream calls") != std::string::npos);
  CHECK(never->body.find("can never be admitted") != std::string::npos);
  CHECK(third.rate_limit_policy == "\"calls\";q=50;w=1");
  CHECK(third.rate_limit.empty());  // no state: no wait would help
}

TEST_CASE("rejections are counted by route and reason in the metrics") {
  harness h;
  const auto route = limited_by(R"({"requests_per_s":1,"burst":1})");
  CHECK_FALSE(h.send(route, "a").first);
  CHECK(h.send(route, "a").first);
  const stages::shared_state stages{1, 0};
  const std::string text = h.stats.render({}, stages);
  CHECK(text.find("aggregator_rejections_total{route=\"orders\",reason=\"rate_limited\"} 1") != std::string::npos);
}
