// Named entries, chaining, for-each, methods and bodies as the route reader checks them.

#include "aggregator/config/upstream_entry_reader.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <algorithm>

#include "aggregator/config/route_definition.hpp"
#include "tests/support/routes.hpp"

using agg::config::config_errors;
using agg::config::merge_mode;
using agg::config::parse_route;
using agg::config::route_config;

namespace {

/// A route whose upstreams are `entries` (a JSON array's members) and whose other keys are `extra`.
std::string with_entries(const std::string &entries, const std::string &extra = "") {
  return R"({"name":"r","path":"/r","params":{"id":{"default":"1"}})" + extra + R"(,"upstreams":[)" + entries + "]}";
}

std::vector<std::string> problems(const std::string &definition) {
  auto lines = agg::testing::route_problems(definition);
  REQUIRE_FALSE(lines.empty());
  return lines;
}

bool mentions(const std::vector<std::string> &lines, const std::string &text) {
  const bool found =
      std::any_of(lines.begin(), lines.end(), [&](const std::string &l) { return l.find(text) != std::string::npos; });
  if (!found)
    for (const auto &l : lines) UNSCOPED_INFO(l);
  return found;
}

route_config accepted(const std::string &definition) {
  auto parsed = parse_route(boost::json::parse(definition));
  if (const auto *errors = std::get_if<config_errors>(&parsed)) FAIL(to_string(errors->at(0)));
  return std::get<route_config>(std::move(parsed));
}

constexpr const char *user = R"({"name":"user","url":"http://h/users/{id}"})";

}  // namespace

TEST_CASE("entries that use each other start in a dependency order, config order among the free ones") {
  const auto route = accepted(with_entries(
      R"({"name":"products","for_each":"orders.body#/*/product_id","url":"http://h/products/{item}"},
         {"name":"orders","for_each":"user.body#/order_ids/*","url":"http://h/orders/{item}"},)" +
      std::string{user} + R"(,{"url":"http://h/free"})"));
  CHECK(route.order == std::vector<std::size_t>{2, 1, 0, 3});
  CHECK(route.composed);
  CHECK(route.upstreams[0].uses == std::vector<std::size_t>{1});
  CHECK(route.upstreams[1].uses == std::vector<std::size_t>{2});
  CHECK(route.merge == merge_mode::keyed);  // the default once an entry has a name
  CHECK_FALSE(route.takes_body);
}

TEST_CASE("a cycle, an unknown name and an entry using itself are refused with their paths") {
  const auto cycle = problems(with_entries(R"({"name":"a","url":"http://h/{b.body#/x}"},
                                              {"name":"b","url":"http://h/{a.body#/y}"})"));
  CHECK(mentions(cycle, "upstreams[0]: its entries use each other in a cycle: a -> b -> a"));
  CHECK(mentions(cycle, "upstreams[1]: its entries use each other in a cycle: b -> a -> b"));
  CHECK(mentions(problems(with_entries(R"({"name":"a","url":"http://h/{nobody.body#/x}"})")),
                 "upstreams[0].url: no entry is named 'nobody'"));
  CHECK(mentions(problems(with_entries(R"({"name":"a","url":"http://h/{a.body#/x}"})")),
                 "upstreams[0].url: an entry cannot use its own body"));
  CHECK(mentions(problems(with_entries(std::string{user} + "," + user)),
                 "upstreams[1].name: another entry is called user"));
  CHECK(mentions(problems(with_entries(R"({"name":"request","url":"http://h/"})")), "not \"request\""));
  CHECK(mentions(problems(with_entries(std::string{user} + R"(,{"url":"http://h/{user.body#id}"})")),
                 "is not a JSON Pointer"));
}

TEST_CASE("for-each slots, batches and limits are checked") {
  CHECK(mentions(problems(with_entries(R"({"url":"http://h/{item}"})")),
                 "{item} is only defined in a \"for_each\" entry"));
  CHECK(mentions(problems(with_entries(R"({"url":"http://h/","batch":{"size":5}})")),
                 "upstreams[0].batch: only applies"));
  CHECK(mentions(problems(with_entries(std::string{user} +
                                       R"(,{"for_each":"user.body#/ids/*","url":"http://h/{items}","batch":{}})")),
                 "{items} is an array"));
  CHECK(mentions(problems(with_entries(std::string{user} + R"(,{"for_each":"user","url":"http://h/"})")),
                 "must be entry.body#/pointer"));
  CHECK(mentions(
      problems(with_entries(std::string{user} + R"(,{"for_each":"user.body#/ids/*","repeat":true,"url":"http://h/"})")),
      "either repeats or runs for each value"));
  CHECK(mentions(
      problems(with_entries(std::string{user} + R"(,{"for_each":"user.body#/ids/*","max_items":0,"url":"http://h/"})")),
      "upstreams[1].max_items: must be an integer from 1 to 10000"));
}

TEST_CASE("methods, bodies and their behaviours are checked") {
  CHECK(mentions(problems(with_entries(R"({"url":"http://h/","body":{"a":1}})")),
                 "upstreams[0].body: only a POST, PUT or PATCH sends a body"));
  CHECK(mentions(problems(with_entries(R"({"url":"http://h/","method":"TRACE"})")),
                 "must be GET, POST, PUT, PATCH or DELETE"));
  CHECK(mentions(problems(with_entries(R"({"url":"http://h/","method":"POST","body":{},"forward_body":true})")),
                 "not both"));
  CHECK(mentions(problems(with_entries(R"({"url":"http://h/","method":"POST","retry":{}})")),
                 "upstreams[0].retry: a POST is not retried or hedged unless the entry says \"idempotent\": true"));
  CHECK(mentions(problems(with_entries(R"({"url":"http://h/","method":"PUT","cache":{}})")),
                 "upstreams[0].cache: only GET calls are cached or coalesced"));
  CHECK(mentions(problems(with_entries(R"({"url":"http://h/","return_headers":["Set-Cookie"]})")),
                 "Set-Cookie is never returned"));
  CHECK(mentions(problems(with_entries(R"({"url":"http://h/","headers":{"Host":"x"}})")), "hop-by-hop header Host"));
  CHECK(mentions(problems(with_entries(R"({"url":"http://h/","body":{"a":"{nope}"},"method":"POST"})")),
                 "upstreams[0].body.a: slot {nope} is neither"));

  // The route's retries do not reach a POST unless it says it is idempotent; a PUT is retried.
  const auto route = accepted(with_entries(R"({"url":"http://h/a","method":"POST","body":{"id":"{id}"}},
                                              {"url":"http://h/b","method":"POST","idempotent":true},
                                              {"url":"http://h/c","method":"PUT","forward_body":true})",
                                           R"(,"retry":{"attempts":2},"cache":{"ttl_ms":5})"));
  CHECK_FALSE(route.upstreams[0].policy.retry);
  CHECK(route.upstreams[1].policy.retry);
  CHECK(route.upstreams[2].policy.retry);
  CHECK_FALSE(route.upstreams[0].policy.cache);
  CHECK(route.takes_body);  // the PUT forwards the client's body
}

TEST_CASE("the merge mode needs names, and shaping takes JSON Pointers") {
  CHECK(mentions(problems(with_entries(R"({"url":"http://h/"})", R"(,"merge":"keyed")")),
                 "merge: needs at least one entry"));
  CHECK(mentions(problems(with_entries(user, R"(,"merge":"deep")")),
                 "merge: must be \"keyed\", \"shallow\" or \"none\""));
  CHECK(accepted(with_entries(user, R"(,"merge":"shallow")")).merge == merge_mode::shallow);
  CHECK(accepted(with_entries(user, R"(,"merge":"none")")).merge == merge_mode::none);
  CHECK(mentions(problems(with_entries(R"({"url":"http://h/","select":"items"})")),
                 "upstreams[0].select: must be a JSON Pointer"));
  CHECK(mentions(problems(with_entries(R"({"url":"http://h/","allow":["/a","b"]})")),
                 "upstreams[0].allow[1]: must be a JSON Pointer"));
  CHECK(mentions(problems(with_entries(R"({"url":"http://h/","rename":{"/a":"b"}})")),
                 "upstreams[0].rename./a: rename maps"));
  const auto shaped = accepted(
      with_entries(R"({"url":"http://h/","select":"/data","allow":["/a"],"deny":["/b"],"rename":{"/c":"/d/e"}})"));
  CHECK(shaped.upstreams[0].shape.select == "/data");
  CHECK(shaped.upstreams[0].shape.rename.at(0) == std::pair<std::string, std::string>{"/c", "/d/e"});
}

TEST_CASE("a value from the client's body makes the route take a POSTed JSON body") {
  const auto route = accepted(
      with_entries(R"({"url":"http://h/users/{request.body#/user_id}"})", R"(,"max_request_body_bytes":1024)"));
  CHECK(route.takes_body);
  CHECK_FALSE(route.composed);  // the request's body is there from the start
  CHECK(route.max_request_body_bytes == 1024);
}
