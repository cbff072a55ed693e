// What an attacker tries first, on the built binary: request targets long enough to exhaust a
// recursive matcher, bodies that pass for the next request (smuggling), bodies and heads without
// bound, a second process on the same port, and line breaks in what reaches the log.

#include <catch2/catch.hpp>

#include <httplib.h>

#include <boost/json/parse.hpp>

#include <csignal>
#include <filesystem>
#include <string>

#include "aggregator/process/child_process.hpp"
#include "tests/support/aggregator_binary.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/nginx_proxy.hpp"
#include "tests/support/raw_http.hpp"

using agg::testing::aggregator_binary;
using agg::testing::raw_exchange;
using agg::testing::raw_until_close;
using agg::testing::statuses_in;

namespace {

std::string demo_routes(const agg::testing::local_upstream &upstream) {
  return R"([{"name":"demo","path":"/api/demo","num":{"default":2,"max":10},"upstreams":[{"url":")" +
         upstream.api("task_id={i}") + R"(","repeat":true}]}])";
}

/// `GET <path>` on its own connection; the response's status, 0 when none came.
int status_of_get(int port, const std::string &path) {
  const auto statuses = statuses_in(raw_exchange(static_cast<std::uint16_t>(port),
                                                 "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  return statuses.empty() ? 0 : statuses.front();
}

/// The admin API's view of route `name` (on the control plane at `port`): 200 while it exists.
int admin_status(int port, const std::string &name) {
  httplib::Client http{"127.0.0.1", port};
  http.set_bearer_token_auth(aggregator_binary::admin_token);
  const auto r = http.Get("/admin/routes/" + name);
  return r ? r->status : 0;
}

const std::string smuggled_delete =
    std::string{"DELETE /admin/routes/demo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "} +
    aggregator_binary::admin_token + "\r\n\r\n";

}  // namespace

TEST_CASE("no request target crashes either listener: long ones are routed up to 8 KiB, then 414") {
  agg::testing::local_upstream upstream;
  aggregator_binary service{demo_routes(upstream)};
  // A path of `length` characters (built by appending: `"/" + std::string` trips g++ 12's false
  // -Wrestrict, GCC bug 105329).
  const auto path = [](std::string prefix, std::size_t length, char fill) { return prefix.append(length, fill); };
  for (const int port : {service.port(), service.admin_port()}) {
    INFO("port " << port);
    for (const std::size_t length : {500U, 8'000U}) CHECK(status_of_get(port, path("/", length, 'A')) == 404);
    for (const std::size_t length : {8'300U, 20'000U, 200'000U}) {
      INFO(length);
      CHECK(status_of_get(port, path("/", length, 'A')) == 414);
      CHECK(status_of_get(port, path("/api/demo?x=", length, '%')) == 414);
    }
    CHECK(status_of_get(port, "/health") == 200);
  }
}

TEST_CASE("a GET announcing a body is refused and its connection closed: the body never runs as a request") {
  agg::testing::local_upstream upstream;
  aggregator_binary service{demo_routes(upstream)};
  const std::string carrier =
      "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(smuggled_delete.size()) + "\r\n\r\n";
  const auto reply = raw_until_close(static_cast<std::uint16_t>(service.port()), carrier + smuggled_delete);
  CHECK(reply.closed_by_server);
  CHECK(statuses_in(reply.bytes) == std::vector<int>{400});
  CHECK(reply.bytes.find("Connection: close") != std::string::npos);
  CHECK(reply.bytes.find("\"body_not_allowed\"") != std::string::npos);
  CHECK(admin_status(service.admin_port(), "demo") == 200);
}

TEST_CASE("ambiguous framing, encoded bodies and oversized heads are refused and the connection closed") {
  agg::testing::local_upstream upstream;
  aggregator_binary service{demo_routes(upstream)};
  const std::string post = "POST /api/jobs HTTP/1.1\r\nHost: x\r\n";
  const std::string next = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";  // must never be answered
  std::string many_headers = "GET /health HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 101; ++i) many_headers += "X-" + std::to_string(i) + ": y\r\n";
  const std::pair<std::string, int> shapes[] = {
      {post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400},
      {post + "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 400},
      {post + "Content-Length: -2\r\n\r\n{}", 400},
      {post + "Content-Length: 18446744073709551617\r\n\r\n{}", 400},
      {post + "Transfer-Encoding: gzip\r\n\r\n{}", 400},
      {post + "Content-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}", 415},
      {many_headers + "\r\n", 431},
      {"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20'000, 'b') + "\r\n\r\n", 431},
      {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},  // HTTP/2 is h2c's preface or ALPN h2, never an HTTP/1 request line
  };
  for (const int port : {service.port(), service.admin_port()}) {
    for (const auto &[request, status] : shapes) {
      INFO("port " << port << ": " << request.substr(0, 120));
      const auto reply = raw_until_close(static_cast<std::uint16_t>(port), request + next);
      CHECK(reply.closed_by_server);
      CHECK(statuses_in(reply.bytes) == std::vector<int>{status});
      CHECK(reply.bytes.find("application/json") != std::string::npos);
    }
    CHECK(status_of_get(port, "/health") == 200);
  }
}

TEST_CASE("a body over 1 MiB is refused before it is read, whatever its framing") {
  agg::testing::local_upstream upstream;
  aggregator_binary service{demo_routes(upstream)};
  const auto port = static_cast<std::uint16_t>(service.port());
  // Only the head is sent: the answer cannot wait for the body.
  const std::string announced =
      raw_exchange(port, "POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n");
  CHECK(announced.starts_with("HTTP/1.1 413"));
  // Chunked: refused once the chunks pass the limit, long before 4 MiB have been read.
  std::string chunked = "POST /api/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string chunk = "10000\r\n" + std::string(0x10000, 'c') + "\r\n";
  for (int i = 0; i < 64; ++i) chunked += chunk;
  const auto reply = raw_until_close(port, chunked);
  CHECK(statuses_in(reply.bytes) == std::vector<int>{413});
  CHECK(reply.closed_by_server);
}

TEST_CASE("pipelined requests are answered in order on one connection, on both listeners") {
  agg::testing::local_upstream upstream;
  aggregator_binary service{demo_routes(upstream)};
  const auto reply = raw_until_close(static_cast<std::uint16_t>(service.port()),
                                     "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                                     "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                                     "GET /api/demo?num=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                                     "HEAD /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(reply.closed_by_server);
  CHECK(statuses_in(reply.bytes) == std::vector<int>{200, 404, 200, 200});
  CHECK(reply.bytes.find(R"("task_id":"0")") != std::string::npos);
  const auto control = raw_until_close(static_cast<std::uint16_t>(service.admin_port()),
                                       "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                                       "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                                       "HEAD /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(statuses_in(control.bytes) == std::vector<int>{200, 404, 200});
}

TEST_CASE("Expect: 100-continue gets 100 before the body is sent, other expectations 417") {
  agg::testing::local_upstream upstream;
  aggregator_binary service{demo_routes(upstream)};
  const auto port = static_cast<std::uint16_t>(service.port());
  const std::string body = R"({"route":"demo","params":{"num":1}})";
  const std::string head =
      "POST /api/jobs HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Type: "
      "application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n";
  // raw_exchange stops after the first response: the interim one, sent before any body byte.
  CHECK(raw_exchange(port, head).starts_with("HTTP/1.1 100 Continue\r\n\r\n"));
  // A client that sends the body without waiting: the body is here, so no 100 is needed.
  const auto whole =
      raw_until_close(port, head + body + "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(statuses_in(whole.bytes) == std::vector<int>{202, 200});
  const auto refused = raw_until_close(port,
                                       "POST /api/jobs HTTP/1.1\r\nHost: x\r\nExpect: coffee\r\n"
                                       "Content-Length: 2\r\n\r\n{}");
  CHECK(statuses_in(refused.bytes) == std::vector<int>{417});
}

TEST_CASE("a second instance on an address in use exits 2 and says so") {
  agg::testing::local_upstream upstream;
  aggregator_binary first{demo_routes(upstream)};
  agg::process::child_process second{{AGG_AGGREGATOR_BINARY, "--config", first.config_file(), "--listen",
                                      "127.0.0.1:" + std::to_string(first.port()), "--admin-listen", "127.0.0.1:0"}};
  const std::string said = second.rest();
  CHECK(second.wait() == 2);
  CHECK(said.find("address in use") != std::string::npos);
  CHECK(status_of_get(first.port(), "/health") == 200);
}

TEST_CASE("control characters a client sends are escaped in the text access log") {
  agg::testing::local_upstream upstream;
  aggregator_binary service{demo_routes(upstream)};
  const std::string forged = "2026-11-21T00:00:00.000Z 0000 DELETE /admin/routes/demo 204";
  std::string encoded;
  for (const char c : forged) encoded += c == ' ' ? std::string{"%20"} : std::string(1, c);
  CHECK(status_of_get(service.port(), "/x%0a" + encoded + "%0d%0a") == 404);
  service.program().signal(SIGTERM);
  const std::string log = service.program().rest();
  CHECK(log.find("\n" + forged) == std::string::npos);
  CHECK(log.find("/x%0a" + encoded + "%0d%0a 404") != std::string::npos);  // the path as sent
}

TEST_CASE("a request smuggled through nginx's keep-alive connection to a replica never runs") {
  INFO("nginx is missing: scripts/install-deps.sh installs it (Debian's nginx-light)");
  REQUIRE(std::filesystem::exists(agg::testing::nginx_proxy::binary));
  agg::testing::local_upstream upstream;
  aggregator_binary replica{demo_routes(upstream)};
  agg::testing::nginx_proxy nginx{{replica.port()}, "    location /admin { return 403; }\n"};
  REQUIRE(nginx.started());
  const std::string carrier =
      "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(smuggled_delete.size()) + "\r\n\r\n";
  const auto reply = raw_exchange(nginx.port(), carrier + smuggled_delete + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(reply.starts_with("HTTP/1.1 400"));
  CHECK(admin_status(replica.admin_port(), "demo") == 200);
  CHECK(status_of_get(nginx.port(), "/health") == 200);
}

TEST_CASE("bytes that are not UTF-8 never reach a JSON answer: they are replaced by U+FFFD") {
  agg::testing::local_upstream upstream;
  aggregator_binary service{R"([{"name":"demo","path":"/api/demo","num":{"default":2,"max":10},"upstreams":[{"url":")" +
                            upstream.api("task_id={i}") + R"(","repeat":true}]},
      {"name":"bin","path":"/api/bin","accept_non_json":true,"upstreams":[{"url":")" +
                            upstream.api("fault=binary") + R"("}]}])"};
  const auto port = static_cast<std::uint16_t>(service.port());
  // The body of `GET path`, which must parse: Boost.JSON's parser refuses text that is not UTF-8.
  const auto answer = [&](const std::string &path, int status) {
    const std::string reply = raw_exchange(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(statuses_in(reply) == std::vector<int>{status});
    boost::system::error_code ec;
    const auto body = boost::json::parse(reply.substr(reply.find("\r\n\r\n") + 4), ec);
    INFO(path << ": " << reply);
    CHECK_FALSE(ec);
    return body;
  };
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(std::string{answer("/api/demo?num=%FF", 400).at("error").at("message").as_string()}.find(fffd) !=
        std::string::npos);
  // A path is reported as sent (never decoded: see routing), so its message is UTF-8 as it came.
  CHECK(std::string{answer("/%FF%C0%80", 404).at("error").at("message").as_string()}.find("/%FF%C0%80") !=
        std::string::npos);
  CHECK(std::string{answer("/\xFF\xC0\x80", 404).at("error").at("message").as_string()}.find("/%FF%C0%80") !=
        std::string::npos);  // raw bytes, percent-encoded before the path is read
  const auto kept = answer("/api/bin", 200);
  CHECK(kept.at("responses").at(0).as_string() ==
        "bin" + fffd + "|" + fffd + fffd + "|" + fffd + "|" + fffd + "|\xE2\x82\xAC");
  CHECK(kept.at("upstreams").at(0).at("bytes").as_int64() == 16);
}

TEST_CASE("a target nobody can read and a request line without a version are refused at once and closed") {
  agg::testing::local_upstream upstream;
  aggregator_binary service{demo_routes(upstream)};
  const auto port = static_cast<std::uint16_t>(service.port());
  const std::string next = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";  // must never be answered
  for (const std::string line : {"GET /health?x=%zz HTTP/1.1", "GET http://x/health HTTP/1.1", "OPTIONS * HTTP/1.1"}) {
    INFO(line);
    const auto reply = raw_until_close(port, line + "\r\nHost: x\r\n\r\n" + next);
    CHECK(reply.closed_by_server);
    CHECK(statuses_in(reply.bytes) == std::vector<int>{400});
    CHECK(reply.bytes.find("\"bad_target\"") != std::string::npos);
  }
  const auto started = std::chrono::steady_clock::now();
  const auto versionless = raw_until_close(port, "GET / \r\n\r\n");
  CHECK(versionless.closed_by_server);
  CHECK(statuses_in(versionless.bytes) == std::vector<int>{400});
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds{5});  // not the 10 s request timeout
  const auto bare = raw_until_close(port, "GET /health HTTP/1.1\nHost: x\n\n");
  CHECK(bare.bytes.find("bare line feed") != std::string::npos);
  // Refusals carry the trace they started, as every answer does.
  CHECK(bare.bytes.find("traceresponse: 00-") != std::string::npos);
}
