#include "aggregator/filters/access_log_filter.hpp"

#include <catch2/catch.hpp>

#include "aggregator/stages/shared_state.hpp"
#include "tests/support/recording_responder.hpp"

using namespace agg;

TEST_CASE("every complete answer is counted by route and status, early answers and refusals alike") {
  runtime::metrics stats;
  const runtime::service_log quiet{config::log_config{config::log_config::level::off, false}};
  const auto chain = testing::chain_of(std::make_unique<filters::access_log_filter>(stats, quiet));
  const auto to = std::make_shared<testing::recording_responder>();
  auto served = testing::exchange_for(chain, to, testing::request_for("GET", "/api/demo"));
  served.request().route = "demo";
  served.respond(http::response::json(200, "{}"));
  chain.refuse(testing::exchange_for(chain, to, testing::request_for("GET", "/")), {414, "uri_too_long", "long"});
  const std::string page = stats.render({}, stages::shared_state{1, 0});
  CHECK(page.find(R"(aggregator_requests_total{route="demo",status="200"} 1)") != std::string::npos);
  CHECK(page.find(R"(aggregator_requests_total{route="-",status="414"} 1)") != std::string::npos);
  CHECK(page.find(R"(aggregator_request_duration_seconds_count{route="demo"} 1)") != std::string::npos);
}
