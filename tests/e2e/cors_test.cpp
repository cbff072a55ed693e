// Browser pages on other origins (CORS) through the whole service: preflights answered before any
// credential is asked for, allowed origins told so on every answer, others told nothing.
#include <catch2/catch.hpp>

#include <string>

#include "tests/support/local_upstream.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"

using agg::testing::local_upstream;
using agg::testing::running_service;

namespace {

constexpr const char *cors_client_token = "client-token-for-cors-0123456789";

struct cors_fixture {
  local_upstream upstream;
  agg::config::service_config config = agg::testing::config_from(
      R"({"server":{"listen":"127.0.0.1:0",
                    "cors":{"allow_origins":["https://app.example.com","https://*.example.org"],
                            "allow_credentials":true,"max_age_s":120}},
          "routes":[
            {"name":"open","path":"/api/open","upstreams":[{"url":")" +
      upstream.api("key=cors-open") + R"("}]},
            {"name":"partner","path":"/api/partner","cors":{"allow_origins":["*"],"expose_headers":["X-Request-Id"],
                                                           "allow_methods":["GET"]},
             "upstreams":[{"url":")" +
      upstream.api("key=cors-partner") + R"("}]}]})");
  agg::config::access_tokens tokens() const {
    agg::config::access_tokens t;
    t.client = cors_client_token;
    return t;
  }
};

httplib::Headers preflight_from(const std::string &origin) {
  return {{"Origin", origin},
          {"Access-Control-Request-Method", "GET"},
          {"Access-Control-Request-Headers", "authorization"}};
}

/// A preflight to `path` from `origin` that the service allows: answered 204 with no body.
httplib::Result allowed_preflight(const running_service &service, const char *path, const std::string &origin) {
  auto r = service.http().Options(path, preflight_from(origin));
  REQUIRE(r);
  CHECK(r->status == 204);
  CHECK(r->body.empty());
  return r;
}

}  // namespace

TEST_CASE("a preflight from an allowed origin is answered 204 before any credential is asked for, and runs nothing") {
  cors_fixture f;
  running_service service{f.config, f.tokens()};
  const auto r = allowed_preflight(service, "/api/open", "https://app.example.com");
  CHECK(r->get_header_value("Access-Control-Allow-Origin") == "https://app.example.com");
  CHECK(r->get_header_value("Access-Control-Allow-Methods") == "GET, HEAD");  // what the endpoint takes
  CHECK(r->get_header_value("Access-Control-Allow-Headers").find("Authorization") != std::string::npos);
  CHECK(r->get_header_value("Access-Control-Allow-Credentials") == "true");
  CHECK(r->get_header_value("Access-Control-Max-Age") == "120");
  CHECK(r->get_header_value("Vary").find("Origin") != std::string::npos);
  CHECK(f.upstream.calls("cors-open") == 0);

  // The subdomains of example.org, and nothing that only looks like one.
  CHECK(service.http().Options("/api/open", preflight_from("https://shop.example.org"))->status == 204);
  CHECK(service.http().Options("/api/open", preflight_from("https://a.b.example.org"))->status == 204);
  for (const char *other : {"https://example.org", "https://shop.example.org.evil.test", "http://shop.example.org",
                            "https://evil.test", "null"}) {
    INFO(other);
    const auto refused = service.http().Options("/api/open", preflight_from(other));
    REQUIRE(refused);
    CHECK(refused->status == 403);
    CHECK(refused->body.find("cors_origin_not_allowed") != std::string::npos);
    CHECK_FALSE(refused->has_header("Access-Control-Allow-Origin"));
  }
}

TEST_CASE("answers tell an allowed origin it may read them, refusals too, others learn nothing") {
  cors_fixture f;
  running_service service{f.config, f.tokens()};
  const httplib::Headers from_app{{"Origin", "https://app.example.com"}};
  const auto refused = service.http().Get("/api/open", from_app);  // no token: 401, which the page may read
  REQUIRE(refused);
  CHECK(refused->status == 401);
  CHECK(refused->get_header_value("Access-Control-Allow-Origin") == "https://app.example.com");
  CHECK(refused->get_header_value("Access-Control-Expose-Headers").find("Server-Timing") != std::string::npos);

  httplib::Headers with_token = from_app;
  with_token.emplace("Authorization", std::string{"Bearer "} + cors_client_token);
  const auto served = service.http().Get("/api/open", with_token);
  REQUIRE(served);
  CHECK(served->status == 200);
  CHECK(served->get_header_value("Access-Control-Allow-Origin") == "https://app.example.com");
  CHECK(served->get_header_value("Access-Control-Allow-Credentials") == "true");
  CHECK(served->get_header_value("Vary") == "Origin");

  httplib::Headers from_elsewhere{{"Origin", "https://evil.test"},
                                  {"Authorization", std::string{"Bearer "} + cors_client_token}};
  const auto other = service.http().Get("/api/open", from_elsewhere);
  REQUIRE(other);
  CHECK(other->status == 200);  // served (a non-browser client sends what it likes), but no page may read it
  CHECK_FALSE(other->has_header("Access-Control-Allow-Origin"));
  CHECK(other->get_header_value("Vary") == "Origin");

  // OPTIONS that is no preflight is the 405 it always was, once its credential passes. A preflight
  // to no endpoint is not one CORS answers: with a credential configured, any path but the probes
  // asks for it first (401, no CORS headers), as an unknown path's GET does.
  CHECK(service.http().Options("/api/open", with_token)->status == 405);
  const auto nowhere = service.http().Options("/api/nowhere", preflight_from("https://app.example.com"));
  REQUIRE(nowhere);
  CHECK(nowhere->status == 401);
  CHECK_FALSE(nowhere->has_header("Access-Control-Allow-Methods"));
  CHECK(service.http().Get("/api/nowhere", with_token)->status == 404);
}

TEST_CASE("a route's cors replaces the service's: any origin, its own methods and exposed headers") {
  cors_fixture f;
  running_service service{f.config, f.tokens()};
  const auto pre = allowed_preflight(service, "/api/partner", "https://anyone.test");
  CHECK(pre->get_header_value("Access-Control-Allow-Origin") == "*");
  CHECK(pre->get_header_value("Access-Control-Allow-Methods") == "GET");
  CHECK_FALSE(pre->has_header("Access-Control-Allow-Credentials"));
  CHECK_FALSE(pre->has_header("Vary"));  // the same answer for every origin

  const auto served = service.http().Get(
      "/api/partner",
      {{"Origin", "https://anyone.test"}, {"Authorization", std::string{"Bearer "} + cors_client_token}});
  REQUIRE(served);
  CHECK(served->status == 200);
  CHECK(served->get_header_value("Access-Control-Allow-Origin") == "*");
  CHECK(served->get_header_value("Access-Control-Expose-Headers") == "X-Request-Id");
}

TEST_CASE("cors blocks are checked with their JSON paths") {
  const auto problems = [](const std::string &cors) {
    return agg::testing::route_problems(
        R"({"name":"r","path":"/r","upstreams":[{"url":"http://127.0.0.1:1/"}],"cors":)" + cors + "}");
  };
  CHECK(problems(R"({"allow_origins":["https://app.example.com"]})").empty());
  CHECK(problems(R"({})") == std::vector<std::string>{"cors.allow_origins: is required: the origins whose pages may "
                                                      "call (https://app.example.com)"});
  CHECK(problems(R"({"allow_origins":["*"],"allow_credentials":true})")
            .at(0)
            .starts_with("cors.allow_origins: * cannot go with allow_credentials"));
  CHECK(problems(R"({"allow_origins":["https://app.example.com/"]})")
            .at(0)
            .starts_with("cors.allow_origins[0]: must be an origin as a browser sends it"));
  CHECK(problems(R"({"allow_origins":["https://a.*.example.com"]})")
            .at(0)
            .starts_with("cors.allow_origins[0]: a pattern is https://*.example.com"));
  CHECK(problems(R"({"allow_origins":["https://*example.com"]})")
            .at(0)
            .starts_with("cors.allow_origins[0]: a pattern is"));
  CHECK(problems(R"({"allow_origins":["https://x.test"],"allow_methods":["get"]})")
            .at(0)
            .starts_with("cors.allow_methods[0]: must be a method"));
  CHECK(problems(R"({"allow_origins":["https://x.test"],"allow_headers":["X Bad"]})")
            .at(0)
            .starts_with("cors.allow_headers[0]: must be a header name"));
  CHECK(problems(R"({"allow_origins":["https://x.test"],"max_age_s":-1})").at(0).starts_with("cors.max_age_s:"));
  CHECK(problems(R"({"allow_origins":["https://x.test"],"origins":[]})").at(0) == "cors.origins: unknown key");
}
