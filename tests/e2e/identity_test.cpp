// Identity and quotas through the whole service: JWTs and API keys at the door, claims in the
// calls, a forged identity header never passed on, per-identity cache entries, rate limits that
// charge by fan-out, jobs held to their route's access.
#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <mutex>
#include <string>
#include <thread>

#include "tests/support/eventually.hpp"
#include "tests/support/jwt_minting.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"
#include "tests/support/scratch_dir.hpp"
#include "tests/support/test_certs.hpp"

using agg::testing::local_upstream;
using agg::testing::running_service;
namespace json = boost::json;

namespace {

const agg::testing::signing_key &signer() {
  static const auto key = agg::testing::make_key("k1", "ES256");
  return key;
}
const std::string mobile_key = "mobile-key-0123456789abcdef";

/// A service whose routes need a JWT (`orders`), an API key (`keyed`) or nothing (`wide`).
struct identity_fixture {
  local_upstream upstream;
  agg::testing::scratch_dir dir;
  agg::config::service_config config = agg::testing::config_from(
      R"({"server":{"listen":"127.0.0.1:0"},
          "auth":{"jwt":{"issuer":"https://issuer.test","audiences":["aggregator"],"jwks_file":"jwks.json"},
                  "api_keys_file":"keys.txt"},
          "routes":[
            {"name":"orders","path":"/api/orders","access":{"require":"jwt","claims":{"scope":"orders:read"}},
             "claims_to_headers":{"X-User-Id":"/sub"},"forward_headers":["X-User-Id","X-Trace-Me"],
             "cache":{"ttl_ms":60000},
             "upstreams":[{"name":"mine","url":")" +
      upstream.base() + R"(/echo?user={jwt#/sub}&tenant={jwt#/tenant/id}"}]},
            {"name":"keyed","path":"/api/keyed","access":{"require":"api_key"},
             "rate_limit":{"requests_per_s":0.01,"burst":2},
             "upstreams":[{"name":"who","url":")" +
      upstream.base() + R"(/echo?key={api_key.name}"}]},
            {"name":"wide","path":"/api/wide","access":{"require":"none"},
             "rate_limit":{"key":"ip","calls_per_s":0.01,"burst_calls":10},
             "upstreams":[{"url":")" +
      upstream.api("i={i}") + R"(","repeat":true}]}]})");

  agg::config::access_tokens tokens() {
    dir.file("jwks.json", agg::testing::jwks_of({agg::testing::public_jwk(signer())}));
    dir.file("keys.txt", "mobile sha256:" + agg::auth::sha256_hex(mobile_key) + "\n");
    auto loaded = agg::config::load_access_tokens(config.auth, dir.path.string(), agg::config::process_environment,
                                                  config.routes);
    REQUIRE(std::holds_alternative<agg::config::access_tokens>(loaded));
    return std::get<agg::config::access_tokens>(std::move(loaded));
  }
};

std::string token_for(const std::string &sub, const std::string &scope = "orders:read profile") {
  return agg::testing::mint(signer(),
                            agg::testing::claims_for(sub, {{"scope", scope}, {"tenant", {{"id", "t-" + sub}}}}));
}

httplib::Headers bearer(const std::string &token) { return {{"Authorization", "Bearer " + token}}; }

/// What the echo upstream saw of the first call of an aggregation answered 200.
json::object seen_upstream(const httplib::Result &r) {
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 200);
  return json::parse(r->body).at("data").as_object().begin()->value().as_object();
}

}  // namespace

TEST_CASE(
    "a JWT route: 401 without a token, 403 without the scope, claims fill the URL and headers, never a forged copy") {
  identity_fixture f;
  running_service service{f.config, f.tokens()};
  auto client = service.http();

  const auto missing = client.Get("/api/orders");
  REQUIRE(missing);
  CHECK(missing->status == 401);
  CHECK(missing->get_header_value("WWW-Authenticate") == "Bearer realm=\"aggregator\"");
  CHECK(json::parse(missing->body).at("error").at("code") == "unauthorized");
  CHECK(client.Get("/api/orders/stream")->status == 401);
  CHECK(client.Get("/api/orders_sync")->status == 401);

  const auto forged = client.Get("/api/orders", bearer(token_for("alice").substr(0, 40) + "x.y.z"));
  REQUIRE(forged);
  CHECK(forged->status == 401);
  CHECK(forged->get_header_value("WWW-Authenticate").find("error=\"invalid_token\"") != std::string::npos);

  const auto no_scope = client.Get("/api/orders", bearer(token_for("alice", "profile")));
  REQUIRE(no_scope);
  CHECK(no_scope->status == 403);
  CHECK(json::parse(no_scope->body).at("error").at("code") == "insufficient_scope");

  auto headers = bearer(token_for("alice"));
  headers.emplace("X-User-Id", "root");  // forged: never forwarded
  headers.emplace("X-Trace-Me", "yes");  // forwarded as the route says
  const json::object alice = seen_upstream(client.Get("/api/orders", headers));
  CHECK(alice.at("target") == "/echo?user=alice&tenant=t-alice");
  CHECK(alice.at("headers").at("x-user-id") == "alice");
  CHECK(alice.at("headers").at("x-trace-me") == "yes");

  // The response cache keys on what the call asks: bob never gets alice's cached answer.
  const json::object bob = seen_upstream(client.Get("/api/orders", bearer(token_for("bob"))));
  CHECK(bob.at("target") == "/echo?user=bob&tenant=t-bob");
  CHECK(bob.at("headers").at("x-user-id") == "bob");
}

TEST_CASE("an API key route names the key in its calls, its rate limit answers 429 with the IETF headers") {
  identity_fixture f;
  running_service service{f.config, f.tokens()};
  auto client = service.http();
  CHECK(client.Get("/api/keyed", bearer(token_for("alice")))->status == 401);  // a JWT is not an API key
  const auto wrong = client.Get("/api/keyed", {{"X-API-Key", "not-a-key-0123456789"}});
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  CHECK(wrong->get_header_value("WWW-Authenticate") == "ApiKey realm=\"aggregator\"");

  const auto first = client.Get("/api/keyed", {{"X-API-Key", mobile_key}});
  CHECK(seen_upstream(first).at("target") == "/echo?key=mobile");
  CHECK(first->get_header_value("RateLimit-Policy") == "\"requests\";q=2;w=200");
  CHECK(first->get_header_value("RateLimit") == "\"requests\";r=1;t=100");
  CHECK(client.Get("/api/keyed", {{"Authorization", "ApiKey " + mobile_key}})->status == 200);
  const auto limited = client.Get("/api/keyed", {{"X-API-Key", mobile_key}});
  REQUIRE(limited);
  CHECK(limited->status == 429);
  CHECK(limited->get_header_value("Retry-After") == "100");
  CHECK(limited->has_header("RateLimit"));
  CHECK(json::parse(limited->body).at("error").at("code") == "rate_limited");

  const auto metrics = service.admin().Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("aggregator_rejections_total{route=\"keyed\",reason=\"rate_limited\"} 1") !=
        std::string::npos);
  CHECK(metrics->body.find("aggregator_rejections_total{route=\"keyed\",reason=\"unauthenticated\"} 2") !=
        std::string::npos);
}

TEST_CASE("calls_per_s charges the fan-out: a request that can never fit is a 429 that says so, jobs pay too") {
  identity_fixture f;
  running_service service{f.config, f.tokens()};
  auto client = service.http();
  const auto never = client.Get("/api/wide?num=11");
  REQUIRE(never);
  CHECK(never->status == 429);
  CHECK(json::parse(never->body).at("error").at("message").as_string().find("makes 11 upstream calls") !=
        std::string::npos);
  CHECK(f.upstream.stats().requests == 0);  // nothing was sent
  CHECK(client.Get("/api/wide?num=6")->status == 200);
  const auto over = client.Get("/api/wide?num=6");  // 6 + 6 > 10
  REQUIRE(over);
  CHECK(over->status == 429);
  CHECK(over->get_header_value("RateLimit") == "\"calls\";r=4;t=600");
  // A job on the route is charged the same way (the jobs API itself takes any credential the
  // service knows, whatever the route it runs needs).
  const httplib::Headers by_key{{"X-API-Key", mobile_key}};
  CHECK(client.Post("/api/jobs", R"({"route":"wide","params":{"num":"4"}})", "application/json")->status == 401);
  const auto job = client.Post("/api/jobs", by_key, R"({"route":"wide","params":{"num":"5"}})", "application/json");
  REQUIRE(job);
  CHECK(job->status == 429);
  const auto small = client.Post("/api/jobs", by_key, R"({"route":"wide","params":{"num":"4"}})", "application/json");
  REQUIRE(small);
  CHECK(small->status == 202);
}

TEST_CASE("a job is held to the access of the route it names") {
  identity_fixture f;
  running_service service{f.config, f.tokens()};
  auto client = service.http();
  const std::string spec = R"({"route":"orders"})";
  CHECK(client.Post("/api/jobs", spec, "application/json")->status == 401);
  httplib::Headers by_key{{"X-API-Key", mobile_key}};
  const auto with_key = client.Post("/api/jobs", by_key, spec, "application/json");
  REQUIRE(with_key);
  CHECK(with_key->status == 401);  // the jobs API takes the key; the orders route wants a JWT
  const auto with_token = client.Post("/api/jobs", bearer(token_for("alice")), spec, "application/json");
  REQUIRE(with_token);
  CHECK(with_token->status == 202);
}

namespace {

/// A JWKS served over HTTPS (the test CA's `server` certificate) from 127.0.0.1, changed at will.
class jwks_server {
 public:
  explicit jwks_server(const agg::testing::test_certs &certs)
      : server_(certs.pem("server").c_str(), certs.key("server").c_str()) {
    server_.Get("/jwks", [this](const httplib::Request &, httplib::Response &res) {
      const std::lock_guard lock{mutex_};
      ++hits_;
      res.status = status_;
      res.set_content(body_, "application/json");
    });
    server_.set_keep_alive_max_count(1);  // one request per connection: stop() waits for no idle one
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  jwks_server(const jwks_server &) = delete;
  jwks_server &operator=(const jwks_server &) = delete;
  ~jwks_server() {
    server_.stop();
    thread_.join();
  }

  void serve(std::string body, int status = 200) {
    const std::lock_guard lock{mutex_};
    body_ = std::move(body);
    status_ = status;
  }
  [[nodiscard]] int hits() const {
    const std::lock_guard lock{mutex_};
    return hits_;
  }
  [[nodiscard]] std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/jwks"; }

 private:
  httplib::SSLServer server_;
  mutable std::mutex mutex_;
  std::string body_;
  int status_ = 200;
  int hits_ = 0;
  int port_ = 0;
  std::thread thread_;
};

/// A service whose one route needs a JWT, its keys from `jwks`'s URL, trusting the test CA.
struct url_keyed_service {
  agg::testing::scratch_dir dir;
  agg::config::service_config config;
  std::variant<agg::config::access_tokens, agg::config::config_errors> tokens;

  url_keyed_service(const agg::testing::test_certs &certs, const jwks_server &jwks, const local_upstream &upstream)
      : config(agg::testing::config_from(
            R"({"server":{"listen":"127.0.0.1:0"},"client":{"ca_file":)" +
            json::serialize(json::value(certs.pem("ca"))) +
            R"(},"auth":{"jwt":{"issuer":"https://issuer.test","audiences":["aggregator"],"jwks_url":")" + jwks.url() +
            R"(","refresh_min_s":3600}},
              "routes":[{"name":"me","path":"/api/me","access":{"require":"jwt"},
                         "upstreams":[{"url":")" +
            upstream.base() + R"(/echo?user={jwt#/sub}"}]}]})")),
        tokens(agg::config::load_access_tokens(config.auth, dir.path.string(), agg::config::process_environment,
                                               config.routes, config.client)) {}
};

int status_with(const running_service &service, const agg::testing::signing_key &key, const std::string &sub) {
  const auto r = service.http().Get("/api/me", bearer(agg::testing::mint(key, agg::testing::claims_for(sub))));
  return r ? r->status : -1;
}

}  // namespace

TEST_CASE("jwks_url: fetched at start over verified TLS, an unknown kid refreshes it at most once per refresh_min_s") {
  agg::testing::test_certs certs;
  local_upstream upstream;
  jwks_server jwks{certs};
  const auto first = agg::testing::make_key("first", "ES256");
  const auto second = agg::testing::make_key("second", "ES256");
  jwks.serve(agg::testing::jwks_of({agg::testing::public_jwk(first)}));
  url_keyed_service setup{certs, jwks, upstream};
  REQUIRE(std::holds_alternative<agg::config::access_tokens>(setup.tokens));
  CHECK(jwks.hits() == 1);
  running_service service{setup.config, std::get<agg::config::access_tokens>(setup.tokens)};
  CHECK(status_with(service, first, "alice") == 200);

  // The issuer rotates: the first token with the new kid is refused, and makes the service look.
  jwks.serve(agg::testing::jwks_of({agg::testing::public_jwk(first), agg::testing::public_jwk(second)}));
  CHECK(status_with(service, second, "bob") == 401);
  CHECK(agg::testing::eventually([&] { return status_with(service, second, "bob") == 200; }));
  CHECK(jwks.hits() == 2);

  // Forged kids by the dozen: refused, and not one more fetch within refresh_min_s.
  for (int i = 0; i < 20; ++i) {
    const auto forged = agg::testing::make_key("forged-" + std::to_string(i), "ES256");
    CHECK(status_with(service, forged, "mallory") == 401);
  }
  CHECK(jwks.hits() == 2);
  const auto metrics = service.admin().Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("aggregator_jwks_refreshes_total{result=\"ok\"} 1") != std::string::npos);
}

TEST_CASE("jwks_url: a refresh that fails keeps the keys in use, one that fails at start is a config error") {
  agg::testing::test_certs certs;
  local_upstream upstream;
  jwks_server jwks{certs};
  const auto key = agg::testing::make_key("only", "ES256");
  jwks.serve(agg::testing::jwks_of({agg::testing::public_jwk(key)}));
  url_keyed_service setup{certs, jwks, upstream};
  REQUIRE(std::holds_alternative<agg::config::access_tokens>(setup.tokens));
  running_service service{setup.config, std::get<agg::config::access_tokens>(setup.tokens)};

  jwks.serve("<html>maintenance</html>");
  CHECK(status_with(service, agg::testing::make_key("new", "ES256"), "bob") == 401);  // asks for a refresh
  CHECK(agg::testing::eventually([&] {
    const auto metrics = service.admin().Get("/metrics");
    return metrics && metrics->body.find("aggregator_jwks_refreshes_total{result=\"failed\"} 1") != std::string::npos;
  }));
  CHECK(status_with(service, key, "alice") == 200);  // a fresh token (not cached) on the keys in use

  jwks.serve("{}", 503);
  url_keyed_service down{certs, jwks, upstream};
  REQUIRE(std::holds_alternative<agg::config::config_errors>(down.tokens));
  CHECK(to_string(std::get<agg::config::config_errors>(down.tokens).at(0)) ==
        "auth.jwt.jwks_url: " + jwks.url() + " answered 503, not 200");
  jwks.serve(agg::testing::jwks_of({agg::testing::public_jwk(key)}));
  down.config.client.ca_file.clear();  // the system's CAs do not know the test CA: TLS is verified
  // On a thread of its own: blocking fetches keep one curl handle (and its options) per thread.
  std::variant<agg::config::access_tokens, agg::config::config_errors> untrusted;
  std::thread{[&] {
    untrusted =
        agg::config::load_access_tokens(down.config.auth, down.dir.path.string(), agg::config::process_environment,
                                        down.config.routes, down.config.client);
  }}.join();
  REQUIRE(std::holds_alternative<agg::config::config_errors>(untrusted));
  CHECK(to_string(std::get<agg::config::config_errors>(untrusted).at(0)).find("cannot fetch") != std::string::npos);
}
