#include "aggregator/config/route_definition.hpp"
#include "aggregator/config/route_table.hpp"
#include "tests/support/routes.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "aggregator/config/json_text.hpp"

using agg::config::config_errors;
using agg::config::parse_route;
using agg::config::route_config;

namespace {

/// "path: message" lines of a definition that must be refused.
std::vector<std::string> problems(const std::string &definition) {
  auto lines = agg::testing::route_problems(definition);
  REQUIRE_FALSE(lines.empty());
  return lines;
}

agg::config::route_ptr route(const std::string &definition) {
  auto parsed = parse_route(boost::json::parse(definition));
  REQUIRE(std::holds_alternative<route_config>(parsed));
  return std::make_shared<const route_config>(std::get<route_config>(std::move(parsed)));
}

}  // namespace

TEST_CASE("a route definition's errors name paths inside the route") {
  const auto lines =
      problems(R"({"name":"r","path":"/r","upstreams":[{"url":"http://127.0.0.1:1/a"},{"url":"ftp://x"}],"colour":1})");
  CHECK(lines == std::vector<std::string>{"colour: unknown key", "upstreams[1].url: not an http(s) URL"});
  CHECK(problems("[1]") == std::vector<std::string>{"(root): must be an object"});
}

TEST_CASE("a route cannot take the service's own paths") {
  const std::string upstreams = R"(,"upstreams":[{"url":"http://127.0.0.1:1/a"}]})";
  for (const char *path : {"/health", "/metrics", "/api/jobs", "/admin"})
    CHECK(problems(R"({"name":"r","path":")" + std::string{path} + "\"" + upstreams).at(0).starts_with("path: "));
  CHECK(problems(R"({"name":"r","path":"/admin/routes/x")" + upstreams).at(0) ==
        "path: /admin/ belongs to the service's own API");
  CHECK(problems(R"({"name":"r","path":"/api/jobs/x")" + upstreams).at(0) ==
        "path: /api/jobs/ belongs to the service's own API");
  // The /ui page and its files are the service's too; a path is one absolute path.
  for (const char *path :
       {"/ui", "/ui/waterfall.js", "/ui/anything", "//localhost/xss", "/a//b", "/a/./b", "/a/../b", "/.."}) {
    INFO(path);
    CHECK(problems(R"({"name":"r","path":")" + std::string{path} + "\"" + upstreams).at(0).starts_with("path: "));
  }
  CHECK(route(R"({"name":"r","path":"/uix/a.b")" + upstreams)->path == "/uix/a.b");
}

TEST_CASE("a route keeps the definition it was read from") {
  const auto r = route(R"({"name":"r","path":"/r","upstreams":[{"url":"http://127.0.0.1:1/a"}]})");
  CHECK(r->definition ==
        boost::json::parse(R"({"name":"r","path":"/r","upstreams":[{"url":"http://127.0.0.1:1/a"}]})").as_object());
}

TEST_CASE("conflicts are a taken name or any of the three endpoint paths") {
  const std::string upstreams = R"(,"upstreams":[{"url":"http://127.0.0.1:1/a"}]})";
  const auto a = route(R"({"name":"a","path":"/x")" + upstreams);
  const agg::config::route_table others{{a}};
  CHECK(others.conflicts(*route(R"({"name":"b","path":"/y")" + upstreams)).empty());
  const auto same_name = others.conflicts(*route(R"({"name":"a","path":"/y")" + upstreams));
  REQUIRE(same_name.size() == 1);
  CHECK(same_name[0].path == "name");
  const auto same_path = others.conflicts(*route(R"({"name":"b","path":"/x")" + upstreams));
  REQUIRE_FALSE(same_path.empty());
  CHECK(same_path[0].path == "path");
  // /x/stream is route a's stream endpoint: a route at /x/stream would shadow it.
  const auto on_stream = others.conflicts(*route(R"({"name":"b","path":"/x/stream")" + upstreams));
  REQUIRE(on_stream.size() == 1);
  CHECK(on_stream[0].message.find("route a") != std::string::npos);
  CHECK(others.conflicts(*route(R"({"name":"a","path":"/x")" + upstreams), a).empty());  // a in its own place
}

TEST_CASE("a merge patch replaces members, removes nulls and merges objects (RFC 7386)") {
  const auto target = boost::json::parse(R"({"a":1,"b":{"c":2,"d":3},"e":[1,2]})");
  const auto patched =
      agg::config::merge_patch(target, boost::json::parse(R"({"a":null,"b":{"c":9},"e":[3],"f":"new"})"));
  CHECK(patched == boost::json::parse(R"({"b":{"c":9,"d":3},"e":[3],"f":"new"})"));
  CHECK(agg::config::merge_patch(target, boost::json::parse("[1]")) == boost::json::parse("[1]"));
}

TEST_CASE("pretty_json writes what parse_json_text reads back") {
  const auto value =
      boost::json::parse(R"({"server":{"listen":"127.0.0.1:0"},"empty":{},"list":[],"routes":[{"n":1.5}]})");
  const std::string text = agg::config::pretty_json(value);
  CHECK(text.find("\n  \"server\": {\n    \"listen\": \"127.0.0.1:0\"\n  },") != std::string::npos);
  CHECK(text.back() == '\n');
  const auto read = agg::config::parse_json_text(text);
  REQUIRE(std::holds_alternative<boost::json::value>(read));
  CHECK(std::get<boost::json::value>(read) == value);
  const auto bad = agg::config::parse_json_text("{\n  \"a\": ,\n}");
  REQUIRE(std::holds_alternative<agg::config::config_error>(bad));
  CHECK(std::get<agg::config::config_error>(bad).message.starts_with("not valid JSON at line 2"));
}

TEST_CASE("JSON text that repeats a key in an object is refused with the key's path and place") {
  const auto repeated = agg::config::parse_json_text(
      "{\"routes\": [{\"name\": \"a\"}, {\"upstreams\": [{}, {\"url\": 1,\n \"url\": 2}]}]}");
  REQUIRE(std::holds_alternative<agg::config::config_error>(repeated));
  const auto &error = std::get<agg::config::config_error>(repeated);
  CHECK(error.path == "routes[1].upstreams[1].url");
  CHECK(error.message.find("line 2") != std::string::npos);
  // Boost.JSON reads 1E400 as infinity, which it would write back as `Infinity`: refused too.
  const auto huge = agg::config::parse_json_text(R"({"routes":[{"body":{"n":[1,1E400]}}]})");
  REQUIRE(std::holds_alternative<agg::config::config_error>(huge));
  CHECK(std::get<agg::config::config_error>(huge).message.find("too large for a double (routes[0].body.n[1])") !=
        std::string::npos);
  // The same key in different objects, or in sibling objects of an array, is no repeat.
  CHECK(std::holds_alternative<boost::json::value>(
      agg::config::parse_json_text(R"({"a":{"k":1},"b":{"k":2},"l":[{"k":1},{"k":2}],"k":[[],{"k":{"k":0}}]})")));
}

TEST_CASE("a route whose entries could make more calls than max_calls is refused, with the count") {
  const std::string entries =
      R"({"url":"http://127.0.0.1:1/a"},{"name":"list","url":"http://127.0.0.1:1/b"},)"
      R"({"url":"http://127.0.0.1:1/{i}","repeat":true},)"
      R"({"url":"http://127.0.0.1:1/c?ids={item}","for_each":"list.body#/*","batch":{"size":30}}]})";
  // 2 fixed + 10 repeated + 100 values in batches of 30 (4 calls) = 16.
  CHECK(route(R"({"name":"r","path":"/api/r","max_calls":16,"num":{"max":10},"upstreams":[)" + entries)->max_calls ==
        16);
  CHECK(problems(R"({"name":"r","path":"/api/r","max_calls":15,"num":{"max":10},"upstreams":[)" + entries) ==
        std::vector<std::string>{
            "upstreams: one aggregation could make 16 calls (2 fixed + 10 repeated (num.max 10) + 4 for each "
            "(max_items)), more than max_calls (15): lower num.max or an entry's max_items, or raise max_calls"});
  // The default, 2000, holds the default num.max (1000) with room to spare.
  CHECK(route(R"({"name":"r","path":"/api/r","upstreams":[{"url":"http://127.0.0.1:1/{i}","repeat":true}]})")
            ->max_calls == 2000);
}

TEST_CASE("a route's access, claims_to_headers and rate_limit are checked where they stand") {
  const std::string upstream = R"("upstreams":[{"url":"http://127.0.0.1:9/u/{jwt#/sub}"}]})";
  const auto defined = [](const std::string &members, const std::string &ups) {
    return R"({"name":"r","path":"/api/r",)" + members + ups;
  };
  CHECK(problems(defined(R"("access":{"require":"admin"},)", upstream))[0] ==
        "access.require: must be jwt, api_key, any, client_cert or none");
  CHECK(problems(defined(R"("access":{"require":"jwt","client_subjects":["CN=x"]},)",
                         R"("upstreams":[{"url":"http://127.0.0.1:9/x"}]})"))[0] ==
        "access.client_subjects: subjects come from a client certificate: they need \"require\": \"client_cert\"");
  CHECK(problems(defined(R"("access":{"require":"client_cert","client_subjects":[""]},)",
                         R"("upstreams":[{"url":"http://127.0.0.1:9/x"}]})"))[0] ==
        "access.client_subjects[0]: must be a certificate subject in RFC 2253 form, e.g. \"CN=reports,O=Example\"");
  CHECK(problems(defined(R"("access":{"require":"api_key","claims":{"scope":"x"}},)",
                         R"("upstreams":[{"url":"http://127.0.0.1:9/x"}]})"))[0] ==
        "access.claims: claims come from a JWT: they need \"require\": \"jwt\"");
  CHECK(problems(defined("", upstream))[0].find("takes the caller's JWT claims") != std::string::npos);
  CHECK(problems(defined(R"("access":{"require":"jwt"},"claims_to_headers":{"X-User":"sub"},)", upstream))[0] ==
        "claims_to_headers.X-User: must be a JSON Pointer into the token's claims, e.g. \"/sub\"");
  CHECK(problems(defined(R"("rate_limit":{"key":"user","requests_per_s":1},)",
                         R"("upstreams":[{"url":"http://127.0.0.1:9/x"}]})"))[0] ==
        "rate_limit.key: must be client, ip, route or header:<name>");
  CHECK(problems(defined(R"("rate_limit":{"burst":3},)", R"("upstreams":[{"url":"http://127.0.0.1:9/x"}]})")).size() ==
        2);  // no rate at all, and a burst without requests_per_s
  CHECK(problems(defined(R"("access":{"require":"none"},)",
                         R"("upstreams":[{"url":"http://127.0.0.1:9/{api_key.name}"}]})"))[0] ==
        "upstreams[0].url: {api_key.name} needs a route whose access.require is api_key or any");
  const auto good = route(defined(
      R"("access":{"require":"jwt","claims":{"scope":"orders:read"}},"claims_to_headers":{"X-User-Id":"/sub"},"rate_limit":{"key":"header:X-Tenant","requests_per_s":5,"calls_per_s":100},)",
      upstream));
  REQUIRE(good->access);
  CHECK(good->access->require == agg::config::credential_need::jwt);
  CHECK(good->claims_to_headers.size() == 1);
  REQUIRE(good->rate_limit);
  CHECK(good->rate_limit->header == "X-Tenant");
  CHECK(good->rate_limit->burst == 5);  // a second's worth unless said
  CHECK(good->rate_limit->burst_calls == 100);
}
