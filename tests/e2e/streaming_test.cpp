// Results as they arrive: the NDJSON and SSE stream of a route.

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <string>
#include <vector>

#include "tests/support/eventually.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"

using agg::testing::eventually;
using agg::testing::local_upstream;
using agg::testing::running_service;

namespace {

struct stream_fixture {
  local_upstream upstream;
  // Entry 0 answers only once a second request with barrier=2 reaches the upstream: the test sends
  // that itself after the first line, so a stream that waited for the slowest call never starts.
  running_service service{agg::testing::config_from(
      R"({"server":{"listen":"127.0.0.1:0","threads":16},"routes":[{"name":"race","path":"/api/race","upstreams":[)"
      R"({"url":")" +
      upstream.api("barrier=2&task_id=slow") + R"("},{"url":")" + upstream.api("task_id=fast") + R"("},{"url":")" +
      upstream.api("status=500") +
      R"("}]},)"
      R"({"name":"hang","path":"/api/hang","timeout_ms":120000,"deadline_ms":120000,"upstreams":[{"url":")" +
      upstream.api("delay_ms=60000") + R"("},{"url":")" + upstream.api("delay_ms=60000") + R"("}]}]})")};

  /// Reads the stream at `path`, calling `on_line` with each complete line as it arrives.
  int stream(const std::string &path, const httplib::Headers &headers,
             const std::function<void(const std::string &)> &on_line) const {
    auto http = service.http();
    std::string pending;
    const auto result = http.Get(path, headers, [&](const char *data, size_t size) {
      pending.append(data, size);
      for (auto end = pending.find('\n'); end != std::string::npos; end = pending.find('\n')) {
        on_line(pending.substr(0, end));
        pending.erase(0, end + 1);
      }
      return true;
    });
    REQUIRE(result);
    return result->status;
  }

  void release_slow_upstream() const {
    httplib::Client direct{"127.0.0.1", upstream.port()};
    REQUIRE(direct.Get("/api/?barrier=2&task_id=release"));
  }
};

}  // namespace

TEST_CASE_METHOD(stream_fixture, "the first line leaves before the slowest upstream has answered") {
  std::vector<boost::json::object> lines;
  const int status = stream("/api/race/stream", {}, [&](const std::string &line) {
    lines.push_back(boost::json::parse(line).as_object());
    if (lines.size() == 2) release_slow_upstream();  // only now can the slow call finish
  });
  CHECK(status == 200);
  REQUIRE(lines.size() == 4);  // one per upstream, then the summary
  CHECK(lines[0].at("index").as_int64() != 0);
  CHECK(lines[2].at("index").as_int64() == 0);  // the slow one, last of the upstreams
  std::vector<bool> seen(3, false);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto &line = lines[i];
    seen[static_cast<std::size_t>(line.at("index").as_int64())] = true;
    CHECK(line.contains("url"));
    CHECK(line.contains("elapsed_ms"));
    CHECK(line.contains("body"));
    if (line.at("index").as_int64() == 2) {
      CHECK_FALSE(line.at("ok").as_bool());
      CHECK(line.at("error").at("kind").as_string() == "http_status");
    } else {
      CHECK(line.at("ok").as_bool());
      CHECK(line.at("body").at("message").as_string() == "Hello World");
    }
  }
  CHECK(seen == std::vector<bool>{true, true, true});
  const auto &summary = lines[3];
  CHECK(summary.at("summary").as_bool());
  CHECK_FALSE(summary.at("complete").as_bool());
  CHECK(summary.at("succeeded").as_int64() == 2);
  CHECK(summary.at("failed").as_int64() == 1);
  CHECK(summary.at("status").as_int64() == 200);
}

TEST_CASE_METHOD(stream_fixture, "Accept: text/event-stream gets the same results as Server-Sent Events") {
  std::vector<std::string> lines;
  stream("/api/race/stream", {{"Accept", "text/event-stream"}}, [&](const std::string &line) {
    lines.push_back(line);
    if (line.starts_with("data: ") && lines.size() == 2) release_slow_upstream();
  });
  // event: upstream / data: {...} / (blank), three times, then event: summary / data: {...} / (blank)
  REQUIRE(lines.size() == 12);
  for (std::size_t event = 0; event < 4; ++event) {
    CHECK(lines[event * 3] == (event < 3 ? "event: upstream" : "event: summary"));
    REQUIRE(lines[event * 3 + 1].starts_with("data: {"));
    CHECK(boost::json::parse(lines[event * 3 + 1].substr(6)).is_object());
    CHECK(lines[event * 3 + 2].empty());
  }
}

TEST_CASE_METHOD(stream_fixture, "a bad stream request gets a JSON error, not a stream") {
  auto http = service.http();
  const auto r = http.Get("/api/race/stream?num=3");
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(boost::json::parse(r->body).at("error").at("code").as_string() == "invalid_parameter");
}

TEST_CASE_METHOD(stream_fixture, "a client that leaves a stream cancels the calls still running") {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(service.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
  const std::string request = "GET /api/hang/stream HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
  REQUIRE(eventually([&] { return upstream.stats().in_flight == 2; }));
  CHECK(service.aggregations_in_flight() == 1);
  ::close(fd);
  CHECK(eventually([&] { return service.upstream().transfers_in_flight() == 0; }));
  CHECK(eventually([&] { return service.aggregations_in_flight() == 0; }));
}
