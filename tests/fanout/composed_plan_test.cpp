// A composed route's plan run as a graph: each entry starts once what it uses has finished, a failed
// dependency skips its dependents, the sync baseline follows the dependency order; and the document's
// `data` it renders.

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include "aggregator/fanout/aggregate.hpp"
#include "aggregator/fanout/render.hpp"
#include "tests/support/scripted_stage.hpp"

using agg::fanout::execution_mode;
using agg::testing::scripted_stage;
using agg::testing::scripted_step;
namespace json = boost::json;

namespace {

/// Answers each URL path with a body: /users/1 lists orders o1, o2; /orders/oK names product pK.
scripted_step by_url(const agg::stages::call_request &request) {
  const std::string &url = request.call->url;
  scripted_step step;
  if (url.find("/users/") != std::string::npos) step.body = R"({"id":1,"name":"ann","orders":["o1","o2"]})";
  if (url.find("/orders/") != std::string::npos)
    step.body =
        R"({"id":")" + url.substr(url.rfind('/') + 1) + R"(","product":"p)" + url.substr(url.size() - 1) + R"("})";
  if (url.find("/products/") != std::string::npos) step.body = R"({"sku":")" + url.substr(url.rfind('/') + 1) + R"("})";
  if (url.find("/fail") != std::string::npos) step.status = 500;
  if (url.find("/slow") != std::string::npos) {
    step.hold = true;
    step.body = R"({"id":"s1"})";
  }
  return step;
}

struct graph_bench : agg::testing::stage_bench {
  explicit graph_bench(const std::string &entries, const std::string &extra = "") {
    config = agg::testing::config_from(R"({"server":{"listen":"127.0.0.1:0"},"routes":[{"name":"r","path":"/r")" +
                                       extra + R"(,"upstreams":[)" + entries + "]}]}");
  }
  agg::fanout::fan_out_plan planned() {
    return std::get<agg::fanout::fan_out_plan>(agg::fanout::make_plan(config.routes.at(0), {}));
  }
  /// The URLs the stage was called with, in the order it was.
  std::vector<std::string> called(const std::vector<std::string> &urls_by_index) const {
    std::vector<std::string> out;
    for (const auto &seen : stage.log()) out.push_back(urls_by_index.at(seen.index));
    return out;
  }
  scripted_stage stage{[](std::size_t, const agg::stages::call_request &r) { return by_url(r); }};
};

std::vector<std::string> urls(const agg::fanout::fan_out_plan &plan) {
  std::vector<std::string> out;
  for (const auto &call : plan.calls) out.push_back(call.url.substr(std::string{"http://h"}.size()));
  return out;
}

const std::string chain = R"({"name":"products","for_each":"orders.body#/*/product","url":"http://h/products/{item}"},
                             {"name":"orders","for_each":"user.body#/orders/*","url":"http://h/orders/{item}"},
                             {"name":"user","url":"http://h/users/1","select":"","deny":["/name"]})";

}  // namespace

TEST_CASE("a chain plans each level from the one before, on the loop and on the blocking site alike") {
  for (const bool blocking : {false, true}) {
    graph_bench bench{chain};
    auto plan = bench.planned();
    REQUIRE(plan.calls.size() == 1);  // only the user can be called at once
    auto run = plan;                  // the run appends to its plan; keep `plan` as it was
    const auto outcomes = blocking ? bench.run_blocking(bench.stage, run) : bench.run(bench.stage, run);
    REQUIRE(outcomes.size() == 5);
    CHECK(plan.calls.size() == 1);
    for (const auto &o : outcomes) CHECK(o.reply.status == 200);
    const auto result = agg::fanout::settle(run, execution_mode::async, outcomes, std::chrono::steady_clock::now());
    CHECK(result.results[0].name == "user");
    CHECK(result.results[1].url == "http://h/orders/o1");
    CHECK(result.results[2].url == "http://h/orders/o2");
    CHECK(result.results[3].url == "http://h/products/p1");
    CHECK(result.results[4].url == "http://h/products/p2");
    CHECK(result.results[4].item_value == "p2");
    const auto body = json::parse(agg::fanout::render(result).body);
    CHECK(body.at("data") == json::parse(R"({"products":[{"sku":"p1"},{"sku":"p2"}],
        "orders":[{"id":"o1","product":"p1"},{"id":"o2","product":"p2"}],"user":{"id":1,"orders":["o1","o2"]}})"));
  }
}

TEST_CASE("an entry starts as soon as the entries it uses are done, not when its level is") {
  graph_bench bench{R"({"name":"slow","url":"http://h/slow"},{"name":"fast","url":"http://h/users/1"},
                       {"name":"after_fast","url":"http://h/orders/{fast.body#/orders/0}"},
                       {"name":"after_slow","url":"http://h/products/{slow.body#/id}"})"};
  auto plan = bench.planned();
  std::vector<std::size_t> started_before_release;
  const auto outcomes = bench.run_together(bench.stage, {&plan}, {std::stop_token{}}, [&] {
    for (const auto &seen : bench.stage.log()) started_before_release.push_back(seen.index);
    bench.stage.release(bench.loop.events());
  });
  // slow and fast started at once, after_fast as soon as fast answered; after_slow waited for slow.
  CHECK(started_before_release == std::vector<std::size_t>{0, 1, 2});
  CHECK(plan.calls.at(2).url == "http://h/orders/o1");
  REQUIRE(outcomes.at(0).size() == 4);
  CHECK(plan.calls.at(3).url == "http://h/products/s1");  // once slow was released
  CHECK(bench.stage.calls() == 4);
}

TEST_CASE("a failed entry skips its dependents and theirs, with the reason") {
  graph_bench bench{R"({"name":"user","url":"http://h/users/fail"},
                       {"name":"orders","for_each":"user.body#/orders/*","url":"http://h/orders/{item}"},
                       {"name":"products","for_each":"orders.body#/*/product","url":"http://h/products/{item}"},
                       {"url":"http://h/other"})"};
  auto plan = bench.planned();
  const auto outcomes = bench.run(bench.stage, plan);
  REQUIRE(outcomes.size() == 4);
  CHECK(bench.stage.calls() == 2);  // the user and the unrelated entry; nothing else was sent
  const auto result = agg::fanout::settle(plan, execution_mode::async, outcomes, std::chrono::steady_clock::now());
  const auto &orders = result.results.at(2);
  CHECK(orders.name == "orders");
  CHECK(orders.kind == agg::calls::outcome_kind::skipped);
  CHECK(orders.detail == "not sent: user failed (http_status)");
  CHECK(result.results.at(3).detail == "not sent: orders failed (skipped)");
  CHECK(result.results.at(3).url == "http://h/products/{item}");  // never expanded
  const auto body = json::parse(agg::fanout::render(result).body);
  CHECK(body.at("data").at("orders").is_null());
  CHECK(body.at("upstreams").at(2).at("error").at("kind") == "skipped");
}

TEST_CASE("the sync baseline calls the entries one at a time in dependency order") {
  graph_bench bench{R"({"name":"b","url":"http://h/orders/{a.body#/orders/1}"},{"name":"a","url":"http://h/users/1"},
                       {"name":"c","url":"http://h/products/{b.body#/product}"},{"name":"d","url":"http://h/free"})"};
  auto plan = bench.planned();
  const auto outcomes = bench.run_blocking(bench.stage, plan);
  REQUIRE(outcomes.size() == 4);
  CHECK(bench.called(urls(plan)) == std::vector<std::string>{"/users/1", "/orders/o2", "/products/p2", "/free"});
  CHECK(bench.stage.max_in_flight() == 1);
}

TEST_CASE("the route's window holds across the entries of a composed plan") {
  graph_bench bench{R"({"name":"u","url":"http://h/users/1"},{"repeat":true,"url":"http://h/free/{i}"},
                       {"for_each":"u.body#/orders/*","url":"http://h/orders/{item}"})",
                    R"(,"concurrency":2,"num":{"default":3,"max":5})"};
  auto plan = bench.planned();
  const auto outcomes = bench.run(bench.stage, plan);
  CHECK(outcomes.size() == 6);
  CHECK(bench.stage.max_in_flight() <= 2);
}

TEST_CASE("shallow merging takes the named objects' members in config order and reports what it replaced") {
  graph_bench bench{R"({"name":"user","url":"http://h/users/1"},{"name":"profile","url":"http://h/products/x"},
                       {"name":"order","url":"http://h/orders/o1"},{"name":"list","url":"http://h/users/2","select":"/orders"})",
                    R"(,"merge":"shallow")"};
  auto plan = bench.planned();
  const auto outcomes = bench.run(bench.stage, plan);
  const auto result = agg::fanout::settle(plan, execution_mode::async, outcomes, std::chrono::steady_clock::now());
  const auto body = json::parse(agg::fanout::render(result).body);
  // user {id,name,orders}, profile {sku}, order {id,product}: order's id replaces user's; list is no object.
  CHECK(body.at("data") ==
        json::parse(R"({"id":"o1","name":"ann","orders":["o1","o2"],"sku":"x","product":"p1","list":["o1","o2"]})"));
  CHECK(body.at("conflicts") == json::parse(R"([{"key":"id","replaced":"user","by":"order"}])"));
}

TEST_CASE("a required entry whose shaping finds nothing fails as missing_value, an optional one notes it") {
  graph_bench bench{R"({"name":"a","url":"http://h/users/1","select":"/nope","required":true},
                       {"name":"b","url":"http://h/users/2","allow":["/id","/nope"]})"};
  auto plan = bench.planned();
  const auto outcomes = bench.run(bench.stage, plan);
  const auto result = agg::fanout::settle(plan, execution_mode::async, outcomes, std::chrono::steady_clock::now());
  CHECK(result.results[0].kind == agg::calls::outcome_kind::missing_value);
  CHECK(result.results[0].detail == "select '/nope' found nothing");
  CHECK(result.results[0].body.is_null());
  CHECK(result.results[1].kind == agg::calls::outcome_kind::ok);
  CHECK(result.results[1].notes == std::vector<std::string>{"allow '/nope' found nothing"});
  CHECK(agg::fanout::aggregate_status(result) == 502);
  const auto body = json::parse(agg::fanout::render(result).body);
  CHECK(body.at("data").at("b") == json::parse(R"({"id":1})"));
  CHECK(body.at("upstreams").at(1).at("notes") == json::parse(R"(["allow '/nope' found nothing"])"));
}
