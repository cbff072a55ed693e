#include "upstream/upstream_server.hpp"

#include <catch2/catch.hpp>

#include <httplib.h>

#include <chrono>

#include "tests/support/raw_http.hpp"

using namespace std::chrono_literals;

namespace {

struct served {
  upstream::upstream_server server{upstream::upstream_options{"127.0.0.1", 0, 0ms}};
  served() { server.start(); }
  httplib::Client http() const { return httplib::Client{"127.0.0.1", server.port()}; }
};

}  // namespace

TEST_CASE("the upstream answers /api/ with Hello World and the task id") {
  served up;
  auto http = up.http();
  const auto r = http.Get("/api/?task_id=42");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == R"({"message":"Hello World","task_id":"42"})");
  CHECK(r->get_header_value("Content-Type") == "application/json");
  CHECK(http.Get("/api/")->body == R"({"message":"Hello World","task_id":null})");
}

TEST_CASE("the upstream escapes the task id into valid JSON") {
  served up;
  const auto r = up.http().Get("/api/?task_id=a%22b%5Cc");
  REQUIRE(r);
  CHECK(r->body == R"({"message":"Hello World","task_id":"a\"b\\c"})");
}

TEST_CASE("the upstream rejects bad parameters and unknown paths") {
  served up;
  auto http = up.http();
  CHECK(http.Get("/api/?delay_ms=-5")->status == 400);
  CHECK(http.Get("/api/?delay_ms=soon")->status == 400);
  CHECK(http.Get("/api/?barrier=0")->status == 400);
  CHECK(http.Get("/elsewhere")->status == 404);
  CHECK(http.Get("/health")->status == 200);
}

TEST_CASE("the upstream serves fixture APIs to compose, derived from their ids") {
  served up;
  auto http = up.http();
  const auto user = http.Get("/users/3?orders=2");
  REQUIRE(user);
  CHECK(user->body == R"({"id":"3","name":"User 3","order_ids":["3-0","3-1"]})");
  CHECK(http.Get("/orders/3-1")->body == R"({"id":"3-1","product_id":"p31","quantity":1})");
  CHECK(http.Get("/users/3/orders?orders=1")->body ==
        R"({"user_id":"3","items":[{"id":"3-0","product_id":"p30","quantity":1}]})");
  const auto batch = http.Get("/products?ids=p30,p31");
  REQUIRE(batch);
  CHECK(batch->body.find(R"("items":[{"id":"p30",)") != std::string::npos);
  CHECK(batch->body.find(R"({"id":"p31",)") != std::string::npos);
  CHECK(http.Get("/products/p30")->body == http.Get("/products/p30?delay_ms=1")->body);  // the same every time
  CHECK(http.Get("/users/3?status=503")->status == 503);                                 // the /api/ knobs apply
  CHECK(http.Get("/users/3?orders=lots")->status == 400);
  CHECK(http.Get("/products")->status == 400);
  CHECK(http.Get("/users/3/nothing")->status == 404);
}

TEST_CASE("the upstream waits delay_ms before answering") {
  served up;
  const auto start = std::chrono::steady_clock::now();
  const auto r = up.http().Get("/api/?delay_ms=150");
  REQUIRE(r);
  CHECK(std::chrono::steady_clock::now() - start >= 150ms);
}

TEST_CASE("the upstream answers pipelined requests on one connection in order") {
  served up;
  const std::string reply =
      agg::testing::raw_until_close(
          up.server.port(),
          "GET /api/?task_id=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /api/?task_id=2 HTTP/1.1\r\nHost: x\r\n"
          "Connection: close\r\n\r\n")
          .bytes;
  const auto first = reply.find(R"("task_id":"1")");
  const auto second = reply.find(R"("task_id":"2")");
  CHECK(first != std::string::npos);
  CHECK(second != std::string::npos);
  CHECK(first < second);
  CHECK(up.server.stats().connections_accepted == 1);
  CHECK(up.server.stats().requests == 2);
}

TEST_CASE("a malformed request gets a 400 and the connection closes") {
  served up;
  CHECK(agg::testing::raw_exchange(up.server.port(), "garbage\r\n\r\n").starts_with("HTTP/1.1 400"));
}

TEST_CASE("the upstream injects status codes and bodies on request") {
  served up;
  auto http = up.http();
  CHECK(http.Get("/api/?status=503")->status == 503);
  const auto empty = http.Get("/api/?status=204");
  REQUIRE(empty);
  CHECK(empty->status == 204);
  CHECK(empty->body.empty());
  const auto garbage = http.Get("/api/?fault=garbage");
  REQUIRE(garbage);
  CHECK(garbage->get_header_value("Content-Type") == "text/html");
  CHECK(garbage->body == "<html>this is not JSON</html>");
  const auto big = http.Get("/api/?fault=oversized&size=5000");
  REQUIRE(big);
  CHECK(big->body.size() == 5000);
  CHECK(http.Get("/api/?fault=nonsense")->status == 400);
  CHECK(http.Get("/api/?status=99")->status == 400);
}

TEST_CASE("the upstream resets connections when asked") {
  served up;
  auto http = up.http();
  CHECK_FALSE(http.Get("/api/?fault=reset_before_headers"));
  CHECK_FALSE(http.Get("/api/?fault=reset_after_headers"));
}

TEST_CASE("the upstream echoes what reached it") {
  served up;
  const auto r = up.http().Get("/echo?a=1%202", {{"X-Probe", "yes"}});
  REQUIRE(r);
  CHECK(r->body.find(R"("target":"/echo?a=1%202")") != std::string::npos);
  CHECK(r->body.find(R"("x-probe":"yes")") != std::string::npos);
}

TEST_CASE("the upstream's echo gives a JSON body parsed as well, null otherwise") {
  served up;
  const auto parsed = up.http().Post("/echo", R"({"n":1})", "application/json");
  REQUIRE(parsed);
  CHECK(parsed->body.find(R"("json":{"n":1})") != std::string::npos);
  const auto text = up.http().Post("/echo", "not json", "text/plain");
  REQUIRE(text);
  CHECK(text->body.find(R"("json":null)") != std::string::npos);
}
