#include "aggregator/filters/identity_filter.hpp"

#include <catch2/catch.hpp>

#include "tests/support/jwt_minting.hpp"
#include "tests/support/recording_responder.hpp"
#include "tests/support/routes.hpp"

using namespace agg;

namespace {

const testing::signing_key &rsa_key() {
  static const auto key = testing::make_key("rsa-1", "RS256");
  return key;
}
const std::string mobile_key = "mobile-key-0123456789abcdef";
const std::string client_token = "client-token-0123456789";

auth::credentials known() {
  auto keys = auth::key_set::parse_jwks(testing::jwks_of({testing::public_jwk(rsa_key())}), {"RS256"});
  auth::jwt_rules rules;
  rules.issuer = "https://issuer.test";
  rules.audiences = {"aggregator"};
  auto verifier = std::make_shared<auth::jwt_verifier>(rules, std::get<auth::key_set>(std::move(keys)));
  auto api = auth::api_keys::parse("mobile sha256:" + auth::sha256_hex(mobile_key));
  return auth::credentials{
      {client_token}, verifier, std::make_shared<const auth::api_keys>(std::get<auth::api_keys>(std::move(api)))};
}

config::route_ptr orders_with(const std::string &access) {
  auto parsed = config::parse_route(boost::json::parse(R"({"name":"orders","path":"/api/orders",)" + access +
                                                       R"("upstreams":[{"url":"http://127.0.0.1:9/x"}]})"));
  return std::make_shared<const config::route_config>(std::get<config::route_config>(std::move(parsed)));
}

struct outcome {
  std::optional<http::response> answer;
  std::optional<auth::identity> who;
};

outcome check(const auth::credentials &creds, const config::route_ptr &route,
              std::vector<http::header_field> headers = {}, bool open = false) {
  runtime::metrics stats;
  const filters::identity_filter filter{creds, stats};
  const auto chain = testing::chain_of();
  auto x = testing::exchange_for(chain, std::make_shared<testing::recording_responder>(),
                                 testing::request_for("GET", "/api/orders", std::move(headers)));
  x.request().match.open = open;
  x.request().match.route = route;
  auto answer = filter.on_request(x);
  return {std::move(answer), x.request().identity};
}

std::string bearer(const std::string &credential) { return "Bearer " + credential; }

}  // namespace

TEST_CASE(
    "a route that needs a JWT: 401 with a challenge without one, 401 invalid_token with the reason for a bad one") {
  const auto creds = known();
  const auto route = orders_with(R"("access":{"require":"jwt"},)");
  const auto missing = check(creds, route);
  REQUIRE(missing.answer);
  CHECK(missing.answer->status == 401);
  CHECK(testing::header_value(*missing.answer, "WWW-Authenticate") == "Bearer realm=\"aggregator\"");
  CHECK(missing.answer->body.find("\"unauthorized\"") != std::string::npos);

  const auto forged = check(creds, route, {{"Authorization", bearer("a.b.c")}});
  REQUIRE(forged.answer);
  CHECK(forged.answer->status == 401);
  CHECK(forged.answer->body.find("\"invalid_token\"") != std::string::npos);
  CHECK(testing::header_value(*forged.answer, "WWW-Authenticate")
            .starts_with(
                "Bearer realm=\"aggregator\", error=\"invalid_token\", error_description=\"the token does not parse"));

  const auto good =
      check(creds, route, {{"Authorization", bearer(testing::mint(rsa_key(), testing::claims_for("alice")))}});
  CHECK_FALSE(good.answer);
  REQUIRE(good.who);
  CHECK(good.who->label() == "jwt:alice");

  // A valid credential of another kind does not do.
  const auto key = check(creds, route, {{"X-API-Key", mobile_key}});
  REQUIRE(key.answer);
  CHECK(key.answer->status == 401);
  CHECK(key.answer->body.find("this route needs a JWT") != std::string::npos);
  CHECK(check(creds, route, {{"Authorization", bearer(client_token)}}).answer->status == 401);
}

TEST_CASE("claims: a valid token without them is 403 insufficient_scope, a scope list that holds the value passes") {
  const auto creds = known();
  const auto route = orders_with(R"("access":{"require":"jwt","claims":{"scope":"orders:read","tier":"gold"}},)");
  const auto token = [](boost::json::object extra) {
    return bearer(testing::mint(rsa_key(), testing::claims_for("alice", std::move(extra))));
  };
  CHECK_FALSE(
      check(creds, route, {{"Authorization", token({{"scope", "profile orders:read"}, {"tier", "gold"}})}}).answer);
  CHECK_FALSE(
      check(creds, route, {{"Authorization", token({{"scope", boost::json::array{"orders:read"}}, {"tier", "gold"}})}})
          .answer);
  const auto lacking =
      check(creds, route, {{"Authorization", token({{"scope", "orders:readx orders"}, {"tier", "gold"}})}});
  REQUIRE(lacking.answer);
  CHECK(lacking.answer->status == 403);
  CHECK(lacking.answer->body.find("\"insufficient_scope\"") != std::string::npos);
  CHECK(testing::header_value(*lacking.answer, "WWW-Authenticate") ==
        "Bearer realm=\"aggregator\", error=\"insufficient_scope\", scope=\"orders:read\"");
  CHECK(check(creds, route, {{"Authorization", token({{"scope", "orders:read"}})}}).answer->status == 403);
}

TEST_CASE("API keys pass as X-API-Key or Authorization: ApiKey, a wrong one is 401 and names no key") {
  const auto creds = known();
  const auto route = orders_with(R"("access":{"require":"api_key"},)");
  const auto by_header = check(creds, route, {{"X-API-Key", mobile_key}});
  CHECK_FALSE(by_header.answer);
  REQUIRE(by_header.who);
  CHECK(by_header.who->label() == "key:mobile");
  CHECK_FALSE(check(creds, route, {{"Authorization", "ApiKey " + mobile_key}}).answer);
  const auto wrong = check(creds, route, {{"X-API-Key", "guess-0123456789"}});
  REQUIRE(wrong.answer);
  CHECK(wrong.answer->status == 401);
  CHECK(wrong.answer->body.find("guess") == std::string::npos);
  CHECK(testing::header_value(*wrong.answer, "WWW-Authenticate") == "ApiKey realm=\"aggregator\"");
}

TEST_CASE("by default a route takes any credential the service knows, open endpoints and require none pass") {
  const auto creds = known();
  const auto route = orders_with("");
  CHECK(check(creds, route).answer->status == 401);
  CHECK(testing::header_value(*check(creds, route).answer, "WWW-Authenticate") ==
        "Bearer realm=\"aggregator\", ApiKey realm=\"aggregator\"");
  CHECK_FALSE(check(creds, route, {{"Authorization", bearer(client_token)}}).answer);
  CHECK_FALSE(check(creds, route, {{"X-API-Key", mobile_key}}).answer);
  CHECK(check(creds, route, {{"Authorization", "Basic dXNlcjpwYXNz"}}).answer->status == 401);
  CHECK_FALSE(check(creds, route, {}, true).answer);
  // require none: no credential needed, and a valid one still says who it is (for limits, templates).
  const auto open_route = orders_with(R"("access":{"require":"none"},)");
  CHECK_FALSE(check(creds, open_route).answer);
  CHECK_FALSE(check(creds, open_route, {{"Authorization", bearer("junk")}}).answer);
  CHECK(check(creds, open_route, {{"X-API-Key", mobile_key}}).who->name == "mobile");
  // No credential configured at all: every route without access is open.
  CHECK_FALSE(check(auth::credentials{{}, nullptr, nullptr}, route).answer);
}

TEST_CASE("a claim holds a value when equal, in a space-separated list, or in an array") {
  CHECK(filters::claim_holds(boost::json::value("a b c"), "b"));
  CHECK(filters::claim_holds(boost::json::value("b"), "b"));
  CHECK_FALSE(filters::claim_holds(boost::json::value("ab c"), "b"));
  CHECK_FALSE(filters::claim_holds(boost::json::value(""), "b"));
  CHECK(filters::claim_holds(boost::json::array{"x", "b"}, "b"));
  CHECK(filters::claim_holds(boost::json::value(7), "7"));
  CHECK(filters::claim_holds(boost::json::value(true), "true"));
  CHECK_FALSE(filters::claim_holds(boost::json::object{{"b", 1}}, "b"));
}
