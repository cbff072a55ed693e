// Routes that compose different APIs, over HTTP, against the bundled upstream's fixture APIs (users,
// their orders, the products in them, an echo): named results, chaining, for-each, bodies.

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "tests/support/eventually.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"

using agg::testing::local_upstream;
using agg::testing::running_service;
namespace json = boost::json;

namespace {

struct composition_fixture {
  local_upstream upstream;
  std::string base = upstream.base();
  running_service service{agg::testing::config_from(
      R"({"server":{"listen":"127.0.0.1:0"},"routes":[
        {"name":"bff","path":"/api/bff","params":{"user":{"default":"7"},"orders":{"default":"3"},"fail":{"default":"200"}},
         "upstreams":[
           {"name":"user","required":true,"url":")" +
      base + R"(/users/{user}?orders={orders}&status={fail}&delay_ms=20",
            "allow":["/id","/order_ids"]},
           {"name":"orders","for_each":"user.body#/order_ids/*","max_items":5,"url":")" +
      base + R"(/orders/{item}?delay_ms=20"},
           {"name":"products","for_each":"orders.body#/*/product_id","url":")" +
      base + R"(/products/{item}?delay_ms=20",
            "select":"/name"}]},
        {"name":"post","path":"/api/post","max_request_body_bytes":100,"retry":{"attempts":3,"backoff_ms":1},
         "upstreams":[
           {"name":"echo","method":"POST","forward_body":true,"url":")" +
      base + R"(/echo","select":"/body"},
           {"name":"typed","method":"PATCH","url":")" +
      base + R"(/echo?for={request.body#/user}",
            "headers":{"X-User":"{request.body#/user}"},
            "body":{"user":"{request.body#/user}","n":"{request.body#/n}","note":"by {request.body#/user}"}},
           {"name":"once","method":"POST","url":")" +
      base + R"(/api/?key=post-once&fail_first=1","body":{}}]},
        {"name":"headers","path":"/api/headers","upstreams":[
           {"name":"cached","url":")" +
      base + R"(/products/p1?cache_control=max-age%3D5","return_headers":["Cache-Control","ETag"]}]}
      ]})")};

  json::value get(const std::string &target, int expected = 200) const {
    return agg::testing::get_json(service, target, expected);
  }
  long calls(const std::string &key) const { return upstream.calls(key); }
};

double end_ms(const json::value &entry) {
  return entry.at("start_ms").to_number<double>() + entry.at("duration_ms").to_number<double>();
}

/// The entries of `upstreams` named `name`.
std::vector<json::value> named(const json::value &body, const std::string &name) {
  std::vector<json::value> out;
  for (const auto &e : body.at("upstreams").as_array())
    if (e.as_object().contains("name") && e.at("name") == name.c_str()) out.push_back(e);
  return out;
}

}  // namespace

TEST_CASE_METHOD(composition_fixture,
                 "a user with their orders and the products in them: each level starts once the one it uses is done") {
  const auto body = get("/api/bff");
  CHECK(body.at("complete") == true);
  CHECK(body.at("data") == json::parse(R"({"user":{"id":"7","order_ids":["7-0","7-1","7-2"]},
      "orders":[{"id":"7-0","product_id":"p70","quantity":1},{"id":"7-1","product_id":"p71","quantity":1},
                {"id":"7-2","product_id":"p72","quantity":1}],
      "products":["Product p70","Product p71","Product p72"]})"));
  CHECK(body.at("responses").as_array().size() == 7);
  const auto user = named(body, "user").at(0);
  const auto orders = named(body, "orders");
  const auto products = named(body, "products");
  REQUIRE(orders.size() == 3);
  REQUIRE(products.size() == 3);
  double orders_end = 0;
  for (const auto &o : orders) {
    CHECK(o.at("start_ms").to_number<double>() >= end_ms(user));
    orders_end = std::max(orders_end, end_ms(o));
  }
  for (const auto &p : products) CHECK(p.at("start_ms").to_number<double>() >= orders_end);
  CHECK(orders.at(1).at("item") == "7-1");
  CHECK(products.at(2).at("url").as_string() == base + "/products/p72?delay_ms=20");
}

TEST_CASE_METHOD(composition_fixture,
                 "the sync baseline runs the same graph one call after another, with the same document") {
  const auto async = get("/api/bff");
  const auto sync = get("/api/bff_sync");
  CHECK(sync.at("data") == async.at("data"));
  CHECK(sync.at("mode") == "sync");
  const auto &entries = sync.at("upstreams").as_array();
  REQUIRE(entries.size() == 7);
  for (std::size_t i = 1; i < entries.size(); ++i)
    CHECK(entries[i].at("start_ms").to_number<double>() >= end_ms(entries[i - 1]));
}

TEST_CASE_METHOD(composition_fixture,
                 "a failed entry skips what uses it, a for-each over nothing or too much says so") {
  const auto failed = get("/api/bff?fail=500", 502);  // the user is required
  CHECK(named(failed, "orders").at(0).at("error").at("kind") == "skipped");
  CHECK(named(failed, "orders").at(0).at("error").at("message") == "not sent: user failed (http_status)");
  CHECK(named(failed, "products").at(0).at("error").at("message") == "not sent: orders failed (skipped)");
  CHECK(failed.at("data").at("orders").is_null());

  const auto none = get("/api/bff?orders=0");
  CHECK(none.at("complete") == true);
  CHECK(none.at("data").at("orders") == json::array{});
  CHECK(none.at("data").at("products") == json::array{});
  CHECK(none.at("upstreams").as_array().size() == 1);

  const auto many = get("/api/bff?orders=6");
  CHECK(many.at("complete") == false);
  const auto orders = named(many, "orders");
  REQUIRE(orders.size() == 1);
  CHECK(orders.at(0).at("error").at("kind") == "too_many_items");
  CHECK(orders.at(0).at("error").at("message") == "for_each found 6 values in user's body; max_items is 5");
  CHECK(named(many, "products").at(0).at("error").at("kind") == "skipped");
}

TEST_CASE_METHOD(composition_fixture,
                 "a route that takes a body forwards it, and types the values its templates take") {
  auto http = service.http();
  const auto r = http.Post("/api/post", R"({"user":"a \"b\"","n":2})", "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  const auto body = json::parse(r->body);
  CHECK(body.at("data").at("echo") == R"({"user":"a \"b\"","n":2})");  // the client's bytes, as they came
  const auto &typed = body.at("data").at("typed");
  CHECK(typed.at("method") == "PATCH");
  CHECK(typed.at("target") == "/echo?for=a%20%22b%22");
  CHECK(typed.at("headers").at("x-user") == "a \"b\"");
  CHECK(typed.at("headers").at("content-type") == "application/json");
  CHECK(json::parse(typed.at("body").as_string()) == json::parse(R"({"user":"a \"b\"","n":2,"note":"by a \"b\""})"));
  // A POST is not retried, whatever the route says: the upstream saw it once and it failed.
  const auto once = named(body, "once").at(0);
  CHECK(once.at("error").at("kind") == "http_status");
  CHECK(calls("post-once") == 1);
  CHECK(once.at("method") == "POST");
}

TEST_CASE_METHOD(composition_fixture, "a body route refuses a GET, a body that is not JSON and one past its limit") {
  auto http = service.http();
  const auto get_it = http.Get("/api/post");
  REQUIRE(get_it);
  CHECK(get_it->status == 405);
  CHECK(get_it->get_header_value("Allow") == "POST");
  const auto not_json = http.Post("/api/post", "{user", "application/json");
  REQUIRE(not_json);
  CHECK(not_json->status == 400);
  CHECK(json::parse(not_json->body).at("error").at("code") == "invalid_body");
  const auto large = http.Post("/api/post", R"({"user":")" + std::string(200, 'x') + R"("})", "application/json");
  REQUIRE(large);
  CHECK(large->status == 413);
  CHECK(json::parse(large->body).at("error").at("code") == "body_too_large");
  const auto missing = http.Post("/api/post", R"({"n":1})", "application/json");
  REQUIRE(missing);
  CHECK(missing->status == 400);
  CHECK(json::parse(missing->body).at("error").at("message") ==
        "{request.body#/user}: the request body has nothing at '/user'");
}

TEST_CASE_METHOD(composition_fixture, "an entry keeps the response headers it lists, and only those") {
  const auto body = get("/api/headers");
  const auto &entry = body.at("upstreams").at(0);
  CHECK(entry.at("headers") == json::parse(R"({"Cache-Control":"max-age=5"})"));
}

TEST_CASE_METHOD(composition_fixture, "the stream and jobs report each entry's name and item as it finishes") {
  std::string lines;
  auto http = service.http();
  const auto r = http.Get("/api/bff/stream?orders=2", [&](const char *data, std::size_t n) {
    lines.append(data, n);
    return true;
  });
  REQUIRE(r);
  std::istringstream in{lines};
  std::vector<json::value> parsed;
  for (std::string line; std::getline(in, line);) parsed.push_back(json::parse(line));
  REQUIRE(parsed.size() == 6);  // user, 2 orders, 2 products, the summary
  CHECK(parsed.at(0).at("name") == "user");
  CHECK(parsed.at(1).at("name") == "orders");
  CHECK((parsed.at(1).at("item") == "7-0" || parsed.at(1).at("item") == "7-1"));
  CHECK(parsed.at(5).at("summary") == true);

  const auto started = http.Post("/api/jobs", R"({"route":"post","body":{"user":"j","n":1}})", "application/json");
  REQUIRE(started);
  REQUIRE(started->status == 202);
  const std::string id{json::parse(started->body).at("id").as_string()};
  json::value job;
  REQUIRE(agg::testing::eventually([&] {
    const auto polled = http.Get("/api/jobs/" + id);
    job = json::parse(polled->body);
    return job.at("status") != "running" && job.at("status") != "pending";
  }));
  std::vector<std::string> names;
  for (const auto &f : job.at("finished").as_array()) names.emplace_back(f.at("name").as_string());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"echo", "once", "typed"});
  CHECK(job.at("result").at("data").at("typed").at("target") == "/echo?for=j");
  const auto refused = http.Post("/api/jobs", R"({"route":"bff","body":{}})", "application/json");
  REQUIRE(refused);
  CHECK(refused->status == 400);
}

TEST_CASE("the shipped bff.json: checkout's order is the echoed JSON body, and no call waits the upstream's 1 s") {
  local_upstream upstream{std::chrono::milliseconds{1000}};  // the bundled upstream's default delay
  std::ifstream file{AGG_SOURCE_DIR "/configs/bff.json"};
  std::string text{std::istreambuf_iterator<char>{file}, {}};
  const std::string address = upstream.base().substr(std::string_view{"http://"}.size());
  for (std::size_t at; (at = text.find("127.0.0.1:9008")) != std::string::npos;) text.replace(at, 14, address);
  for (const char *fixed : {"127.0.0.1:8080", "127.0.0.1:8081"})
    text.replace(text.find(fixed), std::string_view{fixed}.size(), "127.0.0.1:0");
  running_service service{agg::testing::config_from(text)};
  auto http = service.http();
  const auto r = http.Post("/api/checkout", R"({"product_id":"p1","quantity":2,"user":"7"})", "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  const auto body = json::parse(r->body);
  const auto &order = body.at("data").at("order");
  REQUIRE(order.is_object());
  CHECK(order.at("quantity") == 2);
  CHECK(order.at("product") == "p1");
  CHECK(body.at("fetch_seconds").to_number<double>() < 1.0);
}
