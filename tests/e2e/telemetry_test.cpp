// OpenTelemetry traces over OTLP/HTTP JSON, end to end: the service in process, the bundled
// upstream, and a collector (cpp-httplib on a free port) that records what it is sent, or hangs.
#include <httplib.h>
#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "aggregator/telemetry/trace_exporter.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"

using agg::testing::eventually;
using agg::testing::local_upstream;
using agg::testing::running_service;
namespace json = boost::json;

namespace {

/// An OTLP/HTTP collector: keeps each export's spans and headers; `hold()` makes it hang until released.
class collector {
 public:
  collector() {
    server_.Post("/v1/traces", [this](const httplib::Request &request, httplib::Response &response) {
      std::unique_lock lock{mutex_};
      ++exports_;
      released_.wait(lock, [this] { return !holding_; });
      content_types_.insert(request.get_header_value("Content-Type"));
      api_keys_.insert(request.get_header_value("X-Api-Key"));
      const json::value body = json::parse(request.body);
      for (const auto &resource : body.at("resourceSpans").as_array()) {
        service_name_ = resource.at("resource").at("attributes").at(0).at("value").at("stringValue").as_string();
        for (const auto &scope : resource.at("scopeSpans").as_array())
          for (const auto &span : scope.at("spans").as_array()) spans_.push_back(span.as_object());
      }
      response.set_content("{}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread{[this] { server_.listen_after_bind(); }};
  }
  collector(const collector &) = delete;
  collector &operator=(const collector &) = delete;
  ~collector() {
    release();
    server_.stop();
    thread_.join();
  }

  [[nodiscard]] std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void hold() {
    const std::lock_guard lock{mutex_};
    holding_ = true;
  }
  void release() {
    {
      const std::lock_guard lock{mutex_};
      holding_ = false;
    }
    released_.notify_all();
  }
  /// The spans of `trace_id` received so far.
  [[nodiscard]] std::vector<json::object> spans_of(const std::string &trace_id) const {
    const std::lock_guard lock{mutex_};
    std::vector<json::object> out;
    for (const auto &span : spans_)
      if (span.at("traceId").as_string() == trace_id) out.push_back(span);
    return out;
  }
  [[nodiscard]] std::size_t exports() const {
    const std::lock_guard lock{mutex_};
    return exports_;
  }
  [[nodiscard]] std::set<std::string> content_types() const {
    const std::lock_guard lock{mutex_};
    return content_types_;
  }
  [[nodiscard]] std::set<std::string> api_keys() const {
    const std::lock_guard lock{mutex_};
    return api_keys_;
  }
  [[nodiscard]] std::string service_name() const {
    const std::lock_guard lock{mutex_};
    return service_name_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable released_;
  bool holding_ = false;
  std::size_t exports_ = 0;
  std::vector<json::object> spans_;
  std::set<std::string> content_types_;
  std::set<std::string> api_keys_;
  std::string service_name_;
};

/// The value of attribute `key` of `span` (null when it has none).
json::value attribute(const json::object &span, std::string_view key) {
  for (const auto &a : span.at("attributes").as_array())
    if (a.at("key").as_string() == key) {
      const json::object &v = a.at("value").as_object();
      return v.begin()->value();
    }
  return nullptr;
}

/// A route of three calls to the upstream's /echo (which answers with the headers it got) and one
/// to a port nobody listens on.
running_service traced_service(const local_upstream &upstream, const std::string &telemetry) {
  return running_service{agg::testing::config_from(
      R"({"server":{"listen":"127.0.0.1:0"},"telemetry":)" + telemetry +
      R"(,"routes":[{"name":"echo","path":"/api/echo","num":{"default":3,"max":10},"timeout_ms":2000,
        "upstreams":[{"url":")" +
      upstream.base() + R"(/echo?i={i}&secret=s3cret","repeat":true},
                     {"url":"http://127.0.0.1:)" +
      std::to_string(agg::testing::refused_port()) + R"(/down"}]}]})")};
}

std::string telemetry_of(const collector &c, const std::string &more = "") {
  return R"({"otlp_endpoint":")" + c.endpoint() + R"(","service_name":"edge-test","headers":{"X-Api-Key":"k-1"})" +
         more + "}";
}

const std::string caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string caller_span = "00f067aa0ba902b7";

/// GET /api/echo in the caller's trace (`flags` 01: sampled); the traceresponse.
std::string call_echo(running_service &service, const std::string &trace_id, const std::string &flags = "01") {
  const auto r = service.http().Get("/api/echo", {{"traceparent", "00-" + trace_id + "-" + caller_span + "-" + flags}});
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return r->get_header_value("traceresponse");
}

}  // namespace

TEST_CASE("a sampled request exports its server span and a client span per call, linked as its upstreams saw them",
          "[telemetry]") {
  collector otlp;
  local_upstream upstream;
  running_service service = traced_service(upstream, telemetry_of(otlp, R"(,"interval_ms":20)"));
  const auto r = service.http().Get("/api/echo", {{"traceparent", "00-" + caller_trace + "-" + caller_span + "-01"},
                                                  {"User-Agent", "telemetry-test"}});
  REQUIRE(r);
  REQUIRE(r->status == 200);
  const std::string own_span = r->get_header_value("traceresponse").substr(36, 16);
  REQUIRE(eventually([&] { return otlp.spans_of(caller_trace).size() == 5; }));
  std::map<std::string, json::object> by_id;
  for (auto &span : otlp.spans_of(caller_trace)) by_id[std::string{span.at("spanId").as_string()}] = span;
  REQUIRE(by_id.size() == 5);

  const json::object &server = by_id.at(own_span);
  CHECK(server.at("parentSpanId").as_string() == caller_span);
  CHECK(server.at("name") == "GET /api/echo");
  CHECK(server.at("kind") == 2);
  CHECK(attribute(server, "http.route") == "/api/echo");
  CHECK(attribute(server, "http.response.status_code") == "200");
  CHECK(attribute(server, "aggregator.route") == "echo");
  CHECK(attribute(server, "aggregator.mode") == "async");
  CHECK(attribute(server, "aggregator.upstream_calls") == "4");
  CHECK(attribute(server, "user_agent.original") == "telemetry-test");
  CHECK(server.at("status").at("code") == 0);  // the 200 of a partial aggregate is no server error

  // Each echo call's span is the one its upstream was told in traceparent.
  const json::value doc = json::parse(r->body);
  std::size_t echoed = 0;
  for (const auto &answer : doc.at("responses").as_array()) {
    if (!answer.is_object() || !answer.as_object().contains("headers")) continue;
    const std::string sent{answer.at("headers").at("traceparent").as_string()};
    const json::object &client = by_id.at(sent.substr(36, 16));
    CHECK(client.at("parentSpanId").as_string() == own_span);
    CHECK(client.at("kind") == 3);
    CHECK(client.at("name") == "GET");
    CHECK(attribute(client, "http.response.status_code") == "200");
    const std::string url{attribute(client, "url.full").as_string()};
    CHECK(url.starts_with(upstream.base() + "/echo"));
    CHECK(url.find("s3cret") == std::string::npos);  // no query in a span
    CHECK(attribute(client, "server.address") == "127.0.0.1");
    CHECK(client.at("status").at("code") == 0);
    CHECK(std::stoull(std::string{client.at("startTimeUnixNano").as_string()}) >=
          std::stoull(std::string{server.at("startTimeUnixNano").as_string()}));
    ++echoed;
  }
  CHECK(echoed == 3);
  // The call that could not connect is an error span saying why.
  std::size_t failed = 0;
  for (const auto &[id, span] : by_id)
    if (attribute(span, "error.type") == "connect") {
      CHECK(span.at("status").at("code") == 2);
      CHECK(attribute(span, "aggregator.outcome") == "connect");
      ++failed;
    }
  CHECK(failed == 1);
  CHECK(otlp.content_types() == std::set<std::string>{"application/json"});
  CHECK(otlp.api_keys() == std::set<std::string>{"k-1"});
  CHECK(otlp.service_name() == "edge-test");
}

TEST_CASE(
    "sampling is parent-based: a caller's unsampled trace exports nothing, and sample_ratio decides for the "
    "traces that start here",
    "[telemetry]") {
  collector otlp;
  local_upstream upstream;
  running_service service = traced_service(upstream, telemetry_of(otlp, R"(,"interval_ms":20,"sample_ratio":0)"));
  const std::string unsampled = "11111111111111111111111111111111";
  CHECK(call_echo(service, unsampled, "00").ends_with("-00"));
  // A trace started here at ratio 0: not sampled, and the upstreams are told so.
  const auto r = service.http().Get("/api/echo");
  REQUIRE(r);
  const std::string started = r->get_header_value("traceresponse");
  CHECK(started.ends_with("-00"));
  const json::value doc = json::parse(r->body);
  CHECK(std::string{doc.at("responses").at(0).at("headers").at("traceparent").as_string()}.ends_with("-00"));
  // A sampled one for contrast, then the shutdown's flush: whatever had been recorded is sent by then.
  call_echo(service, caller_trace);
  service.shut_down(std::chrono::milliseconds{5000});
  CHECK(otlp.spans_of(caller_trace).size() == 5);
  CHECK(otlp.spans_of(unsampled).empty());
  CHECK(otlp.spans_of(started.substr(3, 32)).empty());
}

TEST_CASE(
    "a collector that hangs costs neither requests nor more than the queue: spans past it are dropped and "
    "counted",
    "[telemetry]") {
  collector otlp;
  otlp.hold();
  local_upstream upstream;
  running_service service =
      traced_service(upstream, telemetry_of(otlp, R"(,"interval_ms":10,"max_queue":20,"batch":5,"timeout_ms":60000)"));
  for (int i = 0; i < 30; ++i) {
    const auto r = service.http().Get("/api/echo");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  // 30 requests of 5 spans (4 calls' spans together, then the request's own once its answer is out,
  // which may come after the next request's): each of the 4 hanging exports holds a batch of 5 to 9,
  // at most 20 wait, the rest are dropped.
  const auto metric = [&service](const std::string &name) {
    const auto now = service.admin().Get("/metrics");
    REQUIRE(now);
    const std::size_t at = now->body.find("\n" + name + " ");
    return at == std::string::npos ? -1L : std::stol(now->body.substr(at + name.size() + 2));
  };
  const std::string dropped = "aggregator_otlp_spans_total{outcome=\"dropped\"}";
  const std::string exported = "aggregator_otlp_spans_total{outcome=\"exported\"}";
  const std::string queued = "aggregator_otlp_spans_queued";
  // Four exports at a time (max_exports_in_flight): they hang, nothing else is sent meanwhile.
  CHECK(eventually([&] { return otlp.exports() == agg::telemetry::trace_exporter::max_exports_in_flight; }));
  CHECK(eventually([&] { return metric(dropped) >= 150 - 20 - 4 * 9 && metric(queued) > 0; }));
  CHECK(metric(queued) <= 20);
  CHECK(otlp.exports() == agg::telemetry::trace_exporter::max_exports_in_flight);
  otlp.release();
  // Then what was held and what waited arrive; what was dropped is gone.
  REQUIRE(eventually([&] { return metric(queued) == 0 && metric(exported) + metric(dropped) == 150; }));
  CHECK(metric(exported) >= 4 * 5);
}

TEST_CASE("a collector nobody listens at: exports fail and are counted, requests are served", "[telemetry]") {
  local_upstream upstream;
  running_service service =
      traced_service(upstream, R"({"otlp_endpoint":"http://127.0.0.1:)" + std::to_string(agg::testing::refused_port()) +
                                   R"(","interval_ms":10})");
  for (int i = 0; i < 3; ++i) call_echo(service, caller_trace);
  REQUIRE(eventually([&] {
    const auto now = service.admin().Get("/metrics");
    return now && now->body.find("aggregator_otlp_spans_total{outcome=\"failed\"} 15") != std::string::npos;
  }));
}

TEST_CASE("what waits is sent at shutdown", "[telemetry]") {
  collector otlp;
  local_upstream upstream;
  running_service service = traced_service(upstream, telemetry_of(otlp, R"(,"interval_ms":3600000)"));
  call_echo(service, caller_trace);
  CHECK(otlp.spans_of(caller_trace).empty());  // an hour's interval, a batch of 512: nothing sent yet
  service.shut_down(std::chrono::milliseconds{1000});
  CHECK(otlp.spans_of(caller_trace).size() == 5);
}
