#include "aggregator/filters/admission_filter.hpp"

#include <catch2/catch.hpp>

#include "tests/support/recording_responder.hpp"

using namespace agg;

namespace {

filters::exchange aggregation(const filters::filter_chain &chain, bool aggregates) {
  auto x = testing::exchange_for(chain, std::make_shared<testing::recording_responder>(),
                                 testing::request_for("GET", "/api/demo"));
  x.request().match.aggregates = aggregates;
  return x;
}

}  // namespace

TEST_CASE("an admitted aggregation holds its place until its exchange is gone, past the cap 503 with Retry-After") {
  runtime::admission cap{1};
  const runtime::unsent_bytes unsent{1 << 20};
  const filters::admission_filter filter{cap, unsent};
  const auto chain = testing::chain_of();
  {
    auto first = aggregation(chain, true);
    CHECK_FALSE(filter.on_request(first));
    CHECK(cap.in_flight() == 1);
    auto second = aggregation(chain, true);
    const auto refused = filter.on_request(second);
    REQUIRE(refused);
    CHECK(refused->status == 503);
    CHECK(refused->headers.at(0).name == "Retry-After");
    auto probe = aggregation(chain, false);  // what runs no aggregation is never refused
    CHECK_FALSE(filter.on_request(probe));
  }
  CHECK(cap.in_flight() == 0);
}

TEST_CASE("a shutting-down service admits nothing and says why, a shutdown's cancel reaches the admitted") {
  runtime::admission cap{10};
  const runtime::unsent_bytes unsent{1 << 20};
  const filters::admission_filter filter{cap, unsent};
  const auto chain = testing::chain_of();
  auto running = aggregation(chain, true);
  CHECK_FALSE(filter.on_request(running));
  cap.begin_shutdown();
  auto late = aggregation(chain, true);
  const auto refused = filter.on_request(late);
  REQUIRE(refused);
  CHECK(refused->body.find("shutting down") != std::string::npos);
  cap.cancel_all();
  CHECK(running.stop_source().stop_requested());
}

TEST_CASE("while unread answers hold more than server.max_unsent_bytes, every request but a probe waits (503)") {
  runtime::admission cap{10};
  runtime::unsent_bytes unsent{1000};
  const filters::admission_filter filter{cap, unsent};
  const auto chain = testing::chain_of();
  unsent.change(0, 1001);  // a slow reader's buffer grew past the bound
  auto route = aggregation(chain, true);
  auto job = aggregation(chain, false);  // e.g. GET /api/jobs/{id}: no aggregation, but an answer to hold
  for (auto *x : {&route, &job}) {
    const auto refused = filter.on_request(*x);
    REQUIRE(refused);
    CHECK(refused->status == 503);
    CHECK(refused->body.find("server.max_unsent_bytes (1000)") != std::string::npos);
    CHECK(refused->headers.at(0).name == "Retry-After");
  }
  CHECK(cap.in_flight() == 0);  // refused before it took a place
  auto probe = aggregation(chain, true);
  probe.request().match.open = true;
  CHECK_FALSE(filter.on_request(probe));
  unsent.change(1001, 10);  // it read
  auto later = aggregation(chain, true);
  CHECK_FALSE(filter.on_request(later));
}
