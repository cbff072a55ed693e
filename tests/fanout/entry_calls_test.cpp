// Planning an entry's calls from request values and other entries' results.

#include "aggregator/fanout/entry_calls.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include "tests/support/routes.hpp"

using agg::calls::outcome_kind;
using agg::fanout::fan_out_plan;
using agg::fanout::make_plan;
using agg::fanout::plan_entry;
using agg::fanout::request_error;
using agg::fanout::values_at;
namespace json = boost::json;

namespace {

/// A plan of the route whose upstreams are `entries`, with `values` as the finished results of the
/// entries by index (the rest have none); the entries that use none are planned already.
struct composed {
  explicit composed(const std::string &entries, const std::string &body = "")
      : config(agg::testing::config_from(R"({"routes":[{"name":"r","path":"/r","params":{"q":{"default":"a b"}},
          "upstreams":[)" + entries + "]}]}")) {
    auto planned = make_plan(config.routes.at(0), {}, {}, body);
    if (const auto *error = std::get_if<request_error>(&planned)) FAIL(error->message);
    plan = std::get<fan_out_plan>(std::move(planned));
  }
  /// Plans entry `entry` with `value` as the result of entry 0.
  std::optional<agg::fanout::planning_failure> plan_with(std::size_t entry, const std::string &value) {
    result = json::parse(value);
    return plan_entry(plan, entry, [this](std::size_t e) { return e == 0 ? &result : nullptr; });
  }
  agg::config::service_config config;
  fan_out_plan plan;
  json::value result;
};

constexpr const char *user = R"({"name":"user","url":"http://h/users/1"})";

}  // namespace

TEST_CASE("a wildcard pointer finds every element's value, leaving out those without one") {
  const auto v = json::parse(R"({"items":[{"id":1},{"id":"b"},{"other":0},{"id":[3]}],"n":5})");
  const auto found = values_at(v, "/items/*/id");
  REQUIRE(found.size() == 3);
  CHECK(*found[0] == 1);
  CHECK(*found[1] == "b");
  CHECK(values_at(v, "/n").size() == 1);
  CHECK(values_at(v, "/missing/*").empty());
  CHECK(values_at(json::parse("[1,2,3]"), "/*").size() == 3);
  CHECK(values_at(v, "/n/*").empty());  // not an array
}

TEST_CASE("values from another entry fill URL slots percent-encoded, one call per for-each value") {
  composed c{std::string{user} +
             R"(,{"name":"orders","for_each":"user.body#/ids/*","url":"http://h/o/{item}?u={user.body#/name}&i={i}"})"};
  REQUIRE(c.plan.calls.size() == 1);  // the user: the orders wait for it
  REQUIRE_FALSE(c.plan_with(1, R"({"ids":["a/../b", 7, true],"name":"ann & bob"})"));
  REQUIRE(c.plan.calls.size() == 4);
  CHECK(c.plan.calls[1].url == "http://h/o/a%2F%2E%2E%2Fb?u=ann%20%26%20bob&i=0");
  CHECK(c.plan.calls[2].url == "http://h/o/7?u=ann%20%26%20bob&i=1");
  CHECK(c.plan.calls[3].url == "http://h/o/true?u=ann%20%26%20bob&i=2");
  CHECK(c.plan.places[2].entry == 1);
  CHECK(c.plan.places[2].item == 1);
  CHECK(c.plan.places[2].value == 7);
}

TEST_CASE("a for-each over nothing plans no call, past max_items the entry fails as too_many_items") {
  composed c{std::string{user} + R"(,{"for_each":"user.body#/ids/*","max_items":2,"url":"http://h/o/{item}"})"};
  CHECK_FALSE(c.plan_with(1, R"({"ids":[]})"));
  CHECK(c.plan.calls.size() == 1);
  CHECK_FALSE(c.plan_with(1, R"({})"));  // no list at all: nothing to call either
  CHECK(c.plan.calls.size() == 1);
  const auto failure = c.plan_with(1, R"({"ids":[1,2,3]})");
  REQUIRE(failure);
  CHECK(failure->kind == outcome_kind::too_many_items);
  CHECK(failure->message == "for_each found 3 values in user's body; max_items is 2");
  CHECK(c.plan.calls.size() == 1);
}

TEST_CASE("a batch puts up to its size of values in one call, joined") {
  composed c{std::string{user} +
             R"(,{"for_each":"user.body#/ids/*","batch":{"size":2,"join":","},"url":"http://h/p?ids={item}",
                  "method":"POST","body":{"ids":"{items}","first":"{i}"}})"};
  REQUIRE_FALSE(c.plan_with(1, R"({"ids":["a","b","c","d","e"]})"));
  REQUIRE(c.plan.calls.size() == 4);
  CHECK(c.plan.calls[1].url == "http://h/p?ids=a%2Cb");
  CHECK(c.plan.calls[3].url == "http://h/p?ids=e");
  CHECK(*c.plan.calls[1].body == R"({"ids":["a","b"],"first":0})");
  CHECK(*c.plan.calls[3].body == R"({"ids":["e"],"first":2})");
  CHECK(c.plan.places[3].value == json::parse(R"(["e"])"));

  composed exact{std::string{user} +
                 R"(,{"for_each":"user.body#/ids/*","batch":{"size":2},"url":"http://h/p?ids={item}"})"};
  REQUIRE_FALSE(exact.plan_with(1, R"({"ids":[1,2,3,4]})"));
  CHECK(exact.plan.calls.size() == 3);
}

TEST_CASE("a body template keeps each value's JSON type, and a string is escaped, never spliced") {
  composed c{std::string{user} + R"(,{"method":"POST","url":"http://h/orders",
      "body":{"user":"{user.body#}","id":"{user.body#/id}","tags":["{user.body#/tags}","{q}"],
              "note":"for {user.body#/name}!","flag":"{user.body#/vip}","n":3}})"};
  REQUIRE_FALSE(c.plan_with(1, R"({"id":42,"name":"O\"Brien \\ \"x\":1","tags":{"a":[1,null]},"vip":false})"));
  const auto &call = c.plan.calls.at(1);
  CHECK(call.method == "POST");
  const auto sent = json::parse(*call.body);
  CHECK(sent.at("id") == 42);
  CHECK(sent.at("user").at("name") == "O\"Brien \\ \"x\":1");
  CHECK(sent.at("tags") == json::parse(R"([{"a":[1,null]},"a b"])"));
  CHECK(sent.at("note") == "for O\"Brien \\ \"x\":1!");
  CHECK(sent.at("flag") == false);
  CHECK(sent.at("n") == 3);
  CHECK(std::find(call.headers.begin(), call.headers.end(), "Content-Type: application/json") != call.headers.end());
}

TEST_CASE("a query value that is not UTF-8 reaches a JSON body as U+FFFD, the URL as it came (found by plan_fuzz)") {
  const auto config = agg::testing::config_from(R"({"routes":[{"name":"r","path":"/r","params":{"q":{}},
      "upstreams":[{"method":"POST","url":"http://h/x?q={q}","body":{"q":"{q}","text":"q is {q}"}}]}]})");
  auto planned = make_plan(config.routes.at(0), {{"q", "bob\xE1"}});
  REQUIRE(std::holds_alternative<fan_out_plan>(planned));
  const auto &call = std::get<fan_out_plan>(planned).calls.at(0);
  const auto sent = json::parse(*call.body);  // throws on text that is not UTF-8
  CHECK(sent.at("q") == "bob\xEF\xBF\xBD");
  CHECK(sent.at("text") == "q is bob\xEF\xBF\xBD");
  CHECK(call.url == "http://h/x?q=bob%E1");
}

TEST_CASE("a value that is missing, not a scalar in a URL, or a line break in a header fails the entry") {
  composed c{std::string{user} + R"(,{"url":"http://h/{user.body#/id}","headers":{"X-Name":"{user.body#/name}"}})"};
  auto failure = c.plan_with(1, R"({"name":"x"})");
  REQUIRE(failure);
  CHECK(failure->kind == outcome_kind::missing_value);
  CHECK(failure->message == "{user.body#/id}: user's body has nothing at '/id'");
  failure = c.plan_with(1, R"({"id":{"a":1},"name":"x"})");
  REQUIRE(failure);
  CHECK(failure->message == "{user.body#/id} is an object, not a string, number or boolean");
  failure = c.plan_with(1, R"({"id":1,"name":"x\r\nX-Evil: 1"})");
  REQUIRE(failure);
  CHECK(failure->message == "header X-Name would hold a control character (a line break, NUL, ...)");
  CHECK(c.plan.calls.size() == 1);  // none of the failed entry's calls stays planned
  for (const char *value : {R"("x\u000by")", R"("x\u007fy")", R"("x\u0000y")"}) {  // a vertical tab, DEL, NUL
    INFO(value);
    failure = c.plan_with(1, std::string{R"({"id":1,"name":)"} + value + "}");
    REQUIRE(failure);
    CHECK(failure->kind == outcome_kind::missing_value);
  }
  REQUIRE_FALSE(c.plan_with(1, R"({"id":1,"name":"ann"})"));
  CHECK(c.plan.calls.at(1).url == "http://h/1");
  CHECK(c.plan.calls.at(1).headers.back() == "X-Name: ann");
}

TEST_CASE("values from the client's body are there from the start, a missing one is the client's 400") {
  const std::string entries = R"({"url":"http://h/u/{request.body#/user}","method":"PUT","forward_body":true})";
  composed c{entries, R"({"user":"u 1","x":[1]})"};
  REQUIRE(c.plan.calls.size() == 1);
  CHECK(c.plan.calls[0].url == "http://h/u/u%201");
  CHECK(c.plan.calls[0].method == "PUT");
  CHECK(*c.plan.calls[0].body == R"({"user":"u 1","x":[1]})");

  const auto config =
      agg::testing::config_from(R"({"routes":[{"name":"r","path":"/r","upstreams":[)" + entries + "]}]}");
  for (const auto &[body, message] : std::vector<std::pair<std::string, std::string>>{
           {"", "this route takes a JSON request body (POST it)"},
           {"{nope", "the request body is not JSON"},
           {R"({"other":1})", "{request.body#/user}: the request body has nothing at '/user'"}}) {
    auto planned = make_plan(config.routes.at(0), {}, {}, body);
    REQUIRE(std::holds_alternative<request_error>(planned));
    CHECK(std::get<request_error>(planned).code == "invalid_body");
    CHECK_THAT(std::get<request_error>(planned).message, Catch::StartsWith(message));
  }
}
