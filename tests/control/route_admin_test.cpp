// The routes admin API over HTTP: every verb and status, pagination, auth, and route changes
// while aggregations run.

#include "aggregator/control/route_admin_api.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <optional>
#include <set>
#include <thread>

#include "tests/support/eventually.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"

using agg::testing::eventually;
using agg::testing::local_upstream;
using agg::testing::running_service;

namespace {

constexpr const char *admin_token = "admin-token-0123456789abcdef";
constexpr const char *client_token = "client-token-0123456789abcdef";

agg::config::access_tokens admin_only() { return {admin_token, std::nullopt}; }

std::string route_json(const std::string &name, const std::string &url, const std::string &extra = "") {
  return R"({"name":")" + name + R"(","path":"/api/)" + name + R"(","upstreams":[{"url":")" + url + R"("}])" + extra +
         "}";
}

/// A client of the control plane that sends the admin token.
httplib::Client admin(const running_service &service) {
  auto c = service.admin();
  c.set_bearer_token_auth(admin_token);
  return c;
}

/// A client of the data plane that sends the admin token (which passes wherever the client's does).
httplib::Client data_with_admin_token(const running_service &service) {
  auto c = service.http();
  c.set_bearer_token_auth(admin_token);
  return c;
}

boost::json::object json_of(const httplib::Result &result, int status) {
  REQUIRE(result);
  INFO(result->body);
  CHECK(result->status == status);
  return boost::json::parse(result->body).as_object();
}

/// `prefix` followed by the numbers, dash-separated ("a1-2"); built by appending, as g++ 12 warns
/// falsely (-Wrestrict, GCC bug 105329) about "literal" + std::string.
std::string numbered(char prefix, int first, std::optional<int> second = std::nullopt) {
  std::string name(1, prefix);
  name += std::to_string(first);
  if (second) {
    name += '-';
    name += std::to_string(*second);
  }
  return name;
}

std::vector<std::string> names_on(const boost::json::object &page) {
  std::vector<std::string> names;
  for (const auto &r : page.at("results").as_array()) names.emplace_back(r.at("name").as_string());
  return names;
}

}  // namespace

TEST_CASE("admin: create, retrieve, replace, patch and delete a route") {
  local_upstream upstream;
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}")), admin_only()};
  auto http = admin(service);

  const auto created = http.Post("/admin/routes", route_json("extra", upstream.api("task_id=one")), "application/json");
  const auto shown = json_of(created, 201);
  CHECK(created->get_header_value("Location") == "/admin/routes/extra");
  CHECK(shown.at("name").as_string() == "extra");
  CHECK(shown.at("endpoints").at("sync").as_string() == "/api/extra_sync");
  // Served at once, on all three endpoints.
  CHECK(
      json_of(data_with_admin_token(service).Get("/api/extra"), 200).at("responses").at(0).at("task_id").as_string() ==
      "one");
  CHECK(json_of(data_with_admin_token(service).Get("/api/extra_sync"), 200).at("mode").as_string() == "sync");

  const auto got = json_of(http.Get("/admin/routes/extra"), 200);
  CHECK(got.at("path").as_string() == "/api/extra");

  // PUT replaces the whole definition; what GET showed (endpoints, elapsed) may be sent back.
  auto replacement = boost::json::parse(route_json("extra", upstream.api("task_id=two"), R"(,"message":"m2")"));
  replacement.as_object()["endpoints"] = got.at("endpoints");
  replacement.as_object()["elapsed"] = 0.5;
  const auto put =
      json_of(http.Put("/admin/routes/extra", boost::json::serialize(replacement), "application/json"), 200);
  CHECK(put.at("message").as_string() == "m2");
  CHECK(json_of(data_with_admin_token(service).Get("/api/extra"), 200).at("message").as_string() == "m2");

  const auto patched =
      json_of(http.Patch("/admin/routes/extra", R"({"message":"m3"})", "application/merge-patch+json"), 200);
  CHECK(patched.at("message").as_string() == "m3");
  CHECK(patched.at("upstreams").at(0).at("url").as_string() == upstream.api("task_id=two"));

  const auto deleted = http.Delete("/admin/routes/extra");
  REQUIRE(deleted);
  CHECK(deleted->status == 204);
  CHECK(deleted->body.empty());
  CHECK(json_of(data_with_admin_token(service).Get("/api/extra"), 404).at("error").at("code").as_string() ==
        "not_found");
  CHECK(json_of(http.Get("/admin/routes/extra"), 404).at("error").at("code").as_string() == "not_found");
}

TEST_CASE("admin: validation errors are 400 with messages per field, unknown is 404, taken is 409") {
  local_upstream upstream;
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}")), admin_only()};
  auto http = admin(service);

  const auto invalid = json_of(
      http.Post(
          "/admin/routes",
          R"({"name":"x","path":"/api/x","timeout_ms":0,"upstreams":[{"url":"http://127.0.0.1:1/"},{"url":"gopher://x"}]})",
          "application/json"),
      400);
  CHECK(invalid.at("error").at("code").as_string() == "invalid_route");
  CHECK(invalid.at("errors").at("upstreams[1].url").as_array() == boost::json::array{"not an http(s) URL"});
  CHECK(invalid.at("errors").at("timeout_ms").as_array().size() == 1);

  CHECK(json_of(http.Post("/admin/routes", "{\"name\":", "application/json"), 400)
            .at("errors")
            .as_object()
            .contains("(root)"));
  // Boost.JSON would keep the second "url" silently: the API names the repeated key instead.
  const auto repeated = json_of(http.Post("/admin/routes",
                                          R"({"name":"x","path":"/api/x","upstreams":[{"url":"http://127.0.0.1:1/"},)"
                                          R"({"url":"http://127.0.0.1:1/a","url":"http://127.0.0.1:1/b"}]})",
                                          "application/json"),
                                400);
  CHECK(repeated.at("error").at("code").as_string() == "duplicate_key");
  CHECK(repeated.at("errors").as_object().contains("upstreams[1].url"));
  CHECK(json_of(http.Patch("/admin/routes/demo", R"({"timeout_ms":5,"timeout_ms":6})", "application/json"), 400)
            .at("errors")
            .as_object()
            .contains("timeout_ms"));
  CHECK(json_of(http.Post("/admin/routes", "name=x", "application/x-www-form-urlencoded"), 415)
            .at("error")
            .at("code")
            .as_string() == "unsupported_media_type");

  const auto same_name =
      json_of(http.Post("/admin/routes", route_json("demo", upstream.api("a=1")), "application/json"), 409);
  CHECK(same_name.at("errors").as_object().contains("name"));
  const auto same_path = json_of(
      http.Post("/admin/routes", R"({"name":"other","path":"/api/demo","upstreams":[{"url":"http://127.0.0.1:1/"}]})",
                "application/json"),
      409);
  CHECK(same_path.at("errors").as_object().contains("path"));

  CHECK(json_of(http.Put("/admin/routes/nope", route_json("nope", upstream.api("a=1")), "application/json"), 404)
            .at("error")
            .at("code")
            .as_string() == "not_found");
  CHECK(json_of(http.Patch("/admin/routes/nope", "{}", "application/json"), 404).at("errors").is_object());
  json_of(http.Delete("/admin/routes/nope"), 404);
  CHECK(
      json_of(http.Delete("/admin/routes/demo"), 409).at("errors").at("(root)").at(0).as_string().find("last route") !=
      boost::json::string::npos);

  const auto wrong_verb = http.Post("/admin/routes/demo", "{}", "application/json");
  CHECK(json_of(wrong_verb, 405).at("error").at("code").as_string() == "method_not_allowed");
  CHECK(wrong_verb->get_header_value("Allow") == "GET, HEAD, PUT, PATCH, DELETE");
  CHECK(json_of(http.Delete("/admin/routes"), 405).at("error").is_object());
  json_of(http.Get("/admin/elsewhere"), 404);
  // Nothing of that changed the routes.
  CHECK(json_of(http.Get("/admin/routes"), 200).at("count").as_int64() == 1);
}

TEST_CASE("admin: the list is paginated with count, next and previous") {
  local_upstream upstream;
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}")), admin_only()};
  auto http = admin(service);
  for (int i = 0; i < 4; ++i)
    json_of(http.Post("/admin/routes", route_json(numbered('r', i), upstream.api("a=1")), "application/json"), 201);

  const auto all = json_of(http.Get("/admin/routes"), 200);
  CHECK(all.at("count").as_int64() == 5);
  CHECK(all.at("next").is_null());
  CHECK(all.at("previous").is_null());
  CHECK(names_on(all) == std::vector<std::string>{"demo", "r0", "r1", "r2", "r3"});

  const auto first = json_of(http.Get("/admin/routes?page_size=2"), 200);
  CHECK(names_on(first) == std::vector<std::string>{"demo", "r0"});
  CHECK(first.at("next").as_string() == "/admin/routes?page=2&page_size=2");
  CHECK(first.at("previous").is_null());
  const auto last = json_of(http.Get("/admin/routes?page=3&page_size=2"), 200);
  CHECK(names_on(last) == std::vector<std::string>{"r3"});
  CHECK(last.at("next").is_null());
  CHECK(last.at("previous").as_string() == "/admin/routes?page=2&page_size=2");
  const auto exact = json_of(http.Get("/admin/routes?page=1&page_size=5"), 200);
  CHECK(exact.at("next").is_null());

  CHECK(json_of(http.Get("/admin/routes?page=4&page_size=2"), 404).at("error").at("code").as_string() == "not_found");
  const auto bad = json_of(http.Get("/admin/routes?page=0&page_size=101&sort=name"), 400);
  CHECK(bad.at("errors").as_object().contains("page"));
  CHECK(bad.at("errors").as_object().contains("page_size"));
  CHECK(bad.at("errors").as_object().contains("sort"));
  json_of(http.Get("/admin/routes?page=x"), 400);
}

TEST_CASE("admin: off without a token, 401 without credentials, 403 with a wrong token") {
  local_upstream upstream;
  {
    running_service service{agg::testing::demo_config(upstream.api("task_id={i}"))};
    CHECK(json_of(admin(service).Get("/admin/routes"), 404).at("error").at("code").as_string() == "admin_disabled");
  }
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}")), admin_only()};
  auto anonymous = service.admin();
  const auto missing = anonymous.Get("/admin/routes");
  CHECK(json_of(missing, 401).at("error").at("code").as_string() == "unauthorized");
  CHECK(missing->get_header_value("WWW-Authenticate").starts_with("Bearer"));
  auto wrong = service.admin();
  wrong.set_bearer_token_auth("admin-token-0123456789abcdeX");
  CHECK(json_of(wrong.Get("/admin/routes/demo"), 403).at("error").at("code").as_string() == "forbidden");
  CHECK(json_of(wrong.Delete("/admin/routes/demo"), 403).at("error").is_object());
  CHECK(service.routes().current()->find("demo"));
  // Aggregations stay open unless a client token is configured.
  json_of(service.http().Get("/api/demo?num=1"), 200);
}

TEST_CASE("a client token closes the aggregation endpoints but not the probes") {
  local_upstream upstream;
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}")),
                          agg::config::access_tokens{admin_token, client_token}};
  auto anonymous = service.http();
  json_of(anonymous.Get("/api/demo?num=1"), 401);
  json_of(anonymous.Get("/"), 401);
  json_of(anonymous.Post("/api/jobs", R"({"route":"demo"})", "application/json"), 401);
  CHECK(anonymous.Get("/health")->status == 200);
  CHECK(service.admin().Get("/metrics")->status == 200);
  auto client = service.http();
  client.set_bearer_token_auth(client_token);
  json_of(client.Get("/api/demo_sync?num=1"), 200);
  auto client_on_control = service.admin();
  client_on_control.set_bearer_token_auth(client_token);
  json_of(client_on_control.Get("/admin/routes"), 403);  // the client token is not an admin token
  json_of(data_with_admin_token(service).Get("/api/demo?num=1"), 200);
}

TEST_CASE("an aggregation in flight during a route change completes on the old snapshot") {
  local_upstream upstream;
  // The old route's upstream holds its request until a second barrier=2 request arrives.
  running_service service{
      agg::testing::config_from(R"({"server":{"listen":"127.0.0.1:0","threads":16},"routes":[)" +
                                route_json("held", upstream.api("barrier=2&task_id=old"), R"(,"message":"old")") + "," +
                                route_json("other", upstream.api("task_id=x")) + "]}"),
      admin_only()};
  std::optional<httplib::Result> in_flight;
  std::thread client{[&] { in_flight.emplace(service.http().Get("/api/held")); }};
  REQUIRE(eventually([&] { return upstream.stats().in_flight == 1; }));

  auto http = admin(service);
  json_of(http.Put("/admin/routes/held", route_json("held", upstream.api("task_id=new"), R"(,"message":"new")"),
                   "application/json"),
          200);
  const auto now =
      json_of(data_with_admin_token(service).Get("/api/held"), 200);  // new requests see the new route at once
  CHECK(now.at("message").as_string() == "new");
  CHECK(now.at("responses").at(0).at("task_id").as_string() == "new");

  httplib::Client direct{"127.0.0.1", upstream.port()};
  REQUIRE(direct.Get("/api/?barrier=2&task_id=release"));  // lets the held request answer
  client.join();
  REQUIRE(in_flight);
  const auto old = json_of(*in_flight, 200);
  CHECK(old.at("message").as_string() == "old");
  CHECK(old.at("responses").at(0).at("task_id").as_string() == "old");
}

TEST_CASE("a route deleted while its aggregation runs still answers that aggregation") {
  local_upstream upstream;
  running_service service{agg::testing::config_from(R"({"server":{"listen":"127.0.0.1:0","threads":16},"routes":[)" +
                                                    route_json("held", upstream.api("barrier=2&task_id=old")) + "," +
                                                    route_json("other", upstream.api("task_id=x")) + "]}"),
                          admin_only()};
  std::optional<httplib::Result> in_flight;
  std::thread client{[&] { in_flight.emplace(service.http().Get("/api/held/stream")); }};
  REQUIRE(eventually([&] { return upstream.stats().in_flight == 1; }));
  CHECK(admin(service).Delete("/admin/routes/held")->status == 204);
  httplib::Client direct{"127.0.0.1", upstream.port()};
  REQUIRE(direct.Get("/api/?barrier=2&task_id=release"));
  client.join();
  REQUIRE(in_flight);
  REQUIRE(*in_flight);
  CHECK((*in_flight)->status == 200);
  CHECK((*in_flight)->body.find("\"task_id\":\"old\"") != std::string::npos);
  CHECK(data_with_admin_token(service).Get("/api/held")->status == 404);
}

TEST_CASE("routes change concurrently while aggregations run") {
  local_upstream upstream;
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}")), admin_only()};
  std::atomic<bool> done{false};
  std::atomic<std::size_t> aggregations{0};
  std::atomic<std::size_t> unexpected{0};  // Catch2's assertions are not thread-safe: count, check after
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c)
    clients.emplace_back([&] {
      auto http = service.http();
      while (!done.load()) {
        const auto reply = data_with_admin_token(service).Get("/api/demo?num=3");
        if (!reply || reply->status != 200 || boost::json::parse(reply->body).at("responses").as_array().size() != 3)
          ++unexpected;
        ++aggregations;
      }
    });
  std::vector<std::thread> admins;
  for (int a = 0; a < 2; ++a)
    admins.emplace_back([&, a] {
      auto http = admin(service);
      for (int i = 0; i < 15; ++i) {
        const std::string name = numbered('a', a, i);
        const auto created =
            http.Post("/admin/routes", route_json(name, upstream.api("task_id=n")), "application/json");
        const auto patched = http.Patch("/admin/routes/demo", R"({"message":")" + name + "\"}", "application/json");
        const auto served = data_with_admin_token(service).Get("/api/" + name);
        const auto deleted = http.Delete("/admin/routes/" + name);
        if (!created || created->status != 201 || !patched || patched->status != 200 || !served ||
            served->status != 200 || !deleted || deleted->status != 204)
          ++unexpected;
      }
    });
  for (auto &t : admins) t.join();
  REQUIRE(eventually([&] { return aggregations.load() > 10; }));
  done = true;
  for (auto &t : clients) t.join();
  CHECK(unexpected == 0);
  CHECK(service.routes().current()->routes().size() == 1);
  CHECK(service.upstream().transfers_in_flight() == 0);
}

TEST_CASE("admin: a composed route is checked like the config file's, and served at once") {
  local_upstream upstream;
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}")), admin_only()};
  auto http = admin(service);
  const std::string base = upstream.base();
  const auto cycle = json_of(http.Post("/admin/routes",
                                       R"({"name":"loop","path":"/api/loop","upstreams":[
                                            {"name":"a","url":")" +
                                           base + R"(/orders/{b.body#/id}"},
                                            {"name":"b","url":")" +
                                           base + R"(/users/{a.body#/id}"}]})",
                                       "application/json"),
                             400);
  CHECK(cycle.at("errors").at("upstreams[0]").as_array() ==
        boost::json::array{"its entries use each other in a cycle: a -> b -> a"});

  json_of(http.Post("/admin/routes",
                    R"({"name":"chain","path":"/api/chain","upstreams":[
                         {"name":"user","url":")" +
                        base + R"(/users/3?orders=1"},
                         {"name":"order","url":")" +
                        base + R"(/orders/{user.body#/order_ids/0}","select":"/product_id"}]})",
                    "application/json"),
          201);
  const auto served = json_of(data_with_admin_token(service).Get("/api/chain"), 200);
  CHECK(served.at("data").at("order").as_string() == "p30");
}
