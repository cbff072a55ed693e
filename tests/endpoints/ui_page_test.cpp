// The /ui page as the data plane serves it, and what GET / tells it of the routes. What the page
// does in a browser is tests/browser/waterfall_test.mjs.
#include "aggregator/endpoints/ui_assets.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <regex>
#include <string>

#include "tests/support/local_upstream.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"

using agg::testing::local_upstream;
using agg::testing::running_service;

TEST_CASE("the page's files are served with their types, a strict policy and no token") {
  local_upstream upstream;
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}")),
                          agg::config::access_tokens{std::nullopt, "client-token-0123456789"}};
  auto http = service.http();
  for (const auto &[path, type] :
       {std::pair{"/ui", "text/html; charset=utf-8"}, std::pair{"/ui/", "text/html; charset=utf-8"},
        std::pair{"/ui/waterfall.js", "text/javascript; charset=utf-8"},
        std::pair{"/ui/waterfall_draw.js", "text/javascript; charset=utf-8"},
        std::pair{"/ui/waterfall.css", "text/css; charset=utf-8"}}) {
    INFO(path);
    const auto r = http.Get(path);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->get_header_value("Content-Type") == type);
    CHECK(r->get_header_value("Content-Security-Policy") == agg::endpoints::ui_content_security_policy);
    CHECK(r->get_header_value("X-Content-Type-Options") == "nosniff");
    CHECK(r->body == agg::endpoints::ui_asset_at(path)->text);
    // Nothing is fetched from anywhere else: the only absolute URL is the SVG namespace's name.
    const std::string outside = std::regex_replace(r->body, std::regex{"http://www\\.w3\\.org/2000/svg"}, "");
    CHECK(outside.find("http://") == std::string::npos);
    CHECK(outside.find("https://") == std::string::npos);
    CHECK(outside.find("//cdn") == std::string::npos);
  }
  CHECK(http.Head("/ui")->status == 200);
  CHECK(http.Post("/ui", "", "text/plain")->status == 405);
  CHECK(http.Get("/ui/nothing.js")->status == 401);  // not a file of the page: the token's business
  CHECK(http.Get("/")->status == 401);               // what the page fetches needs the token
}

TEST_CASE("every file the page links is one the data plane serves") {
  const std::string html{agg::endpoints::ui_asset_at("/ui")->text};
  const std::regex link{R"re((src|href)="([^"]*)")re"};
  int links = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), link); it != std::sregex_iterator(); ++it) {
    const std::string target = (*it)[2];
    INFO(target);
    CHECK((target == "data:," || agg::endpoints::ui_asset_at(target) != nullptr));
    ++links;
  }
  CHECK(links == 4);  // the icon (none), the style sheet and the two scripts
}

TEST_CASE(
    "GET / describes each route for the page: paths, method, num, parameters (in the config's order) and "
    "what waits for what") {
  local_upstream upstream;
  running_service service{agg::testing::config_from(R"({"server":{"listen":"127.0.0.1:0"},"routes":[
    {"name":"bff","path":"/api/bff","params":{"user":{},"delay_ms":{"default":"5","max_length":6}},
     "upstreams":[{"name":"user","url":")" + upstream.base() +
                                                    R"(/users/{user}?orders=2","required":true},
                  {"name":"orders","for_each":"user.body#/order_ids/*","url":")" +
                                                    upstream.base() + R"(/orders/{item}"},
                  {"url":")" + upstream.api("task_id={i}&delay_ms={delay_ms}") +
                                                    R"(","repeat":true}],
     "num":{"default":2,"max":9}},
    {"name":"echo","path":"/api/echo","upstreams":[{"url":")" +
                                                    upstream.base() +
                                                    R"(/echo","method":"POST","forward_body":true}]}]})")};
  const auto r = service.http().Get("/");
  REQUIRE(r);
  const auto routes = boost::json::parse(r->body).at("routes").as_array();
  REQUIRE(routes.size() == 2);
  CHECK(routes[0] == boost::json::parse(R"({"name":"bff","path":"/api/bff","sync_path":"/api/bff_sync",
    "stream_path":"/api/bff/stream","method":"GET","num":{"default":2,"max":9},
    "params":[{"name":"user","max_length":256,"required":true},{"name":"delay_ms","max_length":6,"default":"5"}],
    "entries":[{"name":"user","required":true},{"name":"orders","for_each":true,"uses":["user"]},{"repeat":true}]})"));
  CHECK(routes[1].at("method") == "POST");
  CHECK(routes[1].at("entries") == boost::json::parse(R"([{"method":"POST"}])"));
  CHECK_FALSE(routes[1].as_object().contains("num"));
}
