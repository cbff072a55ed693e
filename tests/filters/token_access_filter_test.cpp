#include "aggregator/filters/token_access_filter.hpp"

#include <catch2/catch.hpp>

#include "tests/support/recording_responder.hpp"

using namespace agg;

namespace {

const std::string token = "client-token-0123456789";

std::optional<http::response> check(const filters::token_access_filter &filter, bool open,
                                    std::vector<http::header_field> headers = {}) {
  const auto chain = testing::chain_of();
  auto x = testing::exchange_for(chain, std::make_shared<testing::recording_responder>(),
                                 testing::request_for("GET", "/api/demo", std::move(headers)));
  x.request().match.open = open;
  return filter.on_request(x);
}

}  // namespace

TEST_CASE("an endpoint that is not open needs the token: 401 with a challenge without one, 403 with a wrong one") {
  const filters::token_access_filter filter{http::bearer_auth{{token}, "aggregator"}};
  const auto missing = check(filter, false);
  REQUIRE(missing);
  CHECK(missing->status == 401);
  REQUIRE(missing->headers.size() == 1);
  CHECK(missing->headers[0].name == "WWW-Authenticate");
  CHECK(check(filter, false, {{"Authorization", "Bearer wrong-token-0123456789"}})->status == 403);
  CHECK_FALSE(check(filter, false, {{"Authorization", "Bearer " + token}}));
  CHECK_FALSE(check(filter, true));  // probes and the page's files are open
}

TEST_CASE("with no token configured every request passes, or gets the answer given for that case") {
  CHECK_FALSE(check(filters::token_access_filter{http::bearer_auth{{}, "aggregator"}}, false));
  const filters::token_access_filter off{http::bearer_auth{{}, "admin"},
                                         http::response::error(404, "admin_disabled", "the admin API is off")};
  const auto answer = check(off, false);
  REQUIRE(answer);
  CHECK(answer->status == 404);
  CHECK_FALSE(check(off, true));
}
