// The service end to end over HTTP: the bundled upstream, the engine and the front, in process.

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <chrono>

#include "tests/support/local_upstream.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"

using namespace std::chrono_literals;
using agg::testing::local_upstream;
using agg::testing::running_service;

namespace {

constexpr int calls = 10;
constexpr auto delay = 200ms;

struct timed_response {
  boost::json::object doc;
  std::chrono::steady_clock::duration took;
};

timed_response timed_get(const running_service &service, const std::string &path) {
  auto http = service.http();
  const auto start = std::chrono::steady_clock::now();
  const auto result = http.Get(path);
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(result);
  REQUIRE(result->status == 200);
  return {boost::json::parse(result->body).as_object(), took};
}

void check_bodies_in_task_order(const boost::json::object &doc) {
  const auto &responses = doc.at("responses").as_array();
  REQUIRE(responses.size() == calls);
  for (std::size_t i = 0; i < calls; ++i) {
    CHECK(responses[i].at("message").as_string() == "Hello World");
    CHECK(responses[i].at("task_id").as_string() == std::to_string(i));
  }
  CHECK(doc.at("complete").as_bool());
  CHECK(doc.at("debug_message").as_string().starts_with("fetch executed in "));
}

}  // namespace

TEST_CASE("the async endpoint returns all N bodies in order in well under N x delay") {
  local_upstream upstream{delay};
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}"))};
  const auto response = timed_get(service, "/api/demo?num=" + std::to_string(calls));
  check_bodies_in_task_order(response.doc);
  CHECK(response.doc.at("mode").as_string() == "async");
  CHECK(response.took >= delay);
  CHECK(response.took < calls * delay / 2);
  CHECK(upstream.stats().max_in_flight == calls);
}

TEST_CASE("the sync baseline returns the same shape and takes at least N x delay") {
  local_upstream upstream{delay};
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}"))};
  const auto response = timed_get(service, "/api/demo_sync?num=" + std::to_string(calls));
  check_bodies_in_task_order(response.doc);
  CHECK(response.doc.at("mode").as_string() == "sync");
  CHECK(response.took >= calls * delay);
  CHECK(upstream.stats().max_in_flight == 1);
}

TEST_CASE("concurrent clients are served concurrently") {
  local_upstream upstream{delay};
  running_service service{agg::testing::demo_config(upstream.api("task_id={i}"))};
  std::vector<std::thread> clients;
  std::atomic<int> complete{0};
  for (int c = 0; c < 8; ++c)
    clients.emplace_back([&] {
      auto http = service.http();
      const auto r = http.Get("/api/demo?num=5");
      if (r && r->status == 200 && boost::json::parse(r->body).at("complete").as_bool()) ++complete;
    });
  for (auto &t : clients) t.join();
  CHECK(complete == 8);
  CHECK(upstream.stats().max_in_flight == 40);  // 8 aggregations x 5 calls, all at once
  CHECK(service.upstream().transfers_in_flight() == 0);
}
