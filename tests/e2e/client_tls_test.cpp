// TLS toward clients (`server.tls`): aggregations, streams and large answers over HTTPS, ALPN,
// session resumption, the minimum version, the handshake deadline, client certificates a route's
// access requires, and the certificate reloaded on SIGHUP. The client is libcurl (OpenSSL).
#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <curl/curl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "aggregator/client/curl_handles.hpp"
#include "aggregator/process/child_process.hpp"
#include "aggregator/process/process_setup.hpp"
#include "tests/support/curl_client.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/raw_http.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"
#include "tests/support/scratch_dir.hpp"
#include "tests/support/test_certs.hpp"

using agg::testing::https_client;
using agg::testing::local_upstream;
using agg::testing::running_service;
using agg::testing::test_certs;

namespace {

std::string json_text(const std::string &text) { return boost::json::serialize(boost::json::value(text)); }

/// `server.tls` presenting `name`'s certificate, plus `more` members.
std::string tls_section(const test_certs &certs, const std::string &name, const std::string &more = "") {
  return R"({"cert_file":)" + json_text(certs.pem(name)) + R"(,"key_file":)" + json_text(certs.key(name)) + more + "}";
}

/// A service on TLS with `tls` as its server.tls, routes `/api/t` (one call to `url`) and `extra`.
running_service tls_service(const std::string &tls, const std::string &url, const std::string &extra_routes = "") {
  return agg::testing::one_route_service(R"(,"tls":)" + tls, url, extra_routes);
}

std::string base(const running_service &service) { return "https://127.0.0.1:" + std::to_string(service.port()); }

}  // namespace

TEST_CASE("an aggregation over HTTPS: HTTP/1.1 by ALPN on a verified certificate, cleartext gets no answer") {
  test_certs certs;
  local_upstream upstream;
  auto service = tls_service(tls_section(certs, "server"), upstream.api("task_id={i}"));
  https_client client{certs.pem("ca")};
  const auto answer = client.get(base(service) + "/api/t?num=3");
  REQUIRE(answer.code == CURLE_OK);
  CHECK(answer.status == 200);
  CHECK(answer.version == CURL_HTTP_VERSION_1_1);
  CHECK(answer.subject.find("127.0.0.1") != std::string::npos);
  CHECK(boost::json::parse(answer.body).at("responses").as_array().size() == 3);
  // Kept alive: the next request needs no handshake.
  const auto again = client.get(base(service) + "/health");
  CHECK(again.status == 200);
  CHECK(again.connects == 0);
  CHECK(service.plane().tls()->counts().full == 1);

  // A client speaking cleartext HTTP to the TLS port: the handshake fails, the connection closes.
  const auto plain = agg::testing::raw_until_close(service.port(), "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(plain.closed_by_server);
  CHECK(plain.bytes.find("HTTP/1.1 200") == std::string::npos);
  CHECK(agg::testing::eventually([&] { return service.plane().tls()->counts().failed == 1; }));
}

TEST_CASE("a new connection resumes its TLS session (1.3 by ticket, 1.2 too) instead of a full handshake") {
  test_certs certs;
  local_upstream upstream;
  auto service = tls_service(tls_section(certs, "server"), upstream.api("task_id=1"));
  for (const bool tls12 : {false, true}) {
    INFO("TLS 1.2 only: " << tls12);
    https_client client{certs.pem("ca")};
    client.fresh_connections();
    if (tls12) client.tls12_only();
    const auto before = service.plane().tls()->counts();
    for (int i = 0; i < 3; ++i) {
      const auto answer = client.get(base(service) + "/health");
      REQUIRE(answer.code == CURLE_OK);
      CHECK(answer.connects == 1);
    }
    const auto after = service.plane().tls()->counts();
    CHECK(after.full - before.full == 1);
    CHECK(after.resumed - before.resumed == 2);
  }
}

TEST_CASE("server.tls.min_version 1.3 refuses a TLS 1.2 client's handshake") {
  test_certs certs;
  local_upstream upstream;
  auto service = tls_service(tls_section(certs, "server", R"(,"min_version":"1.3")"), upstream.api("task_id=1"));
  CHECK(https_client{certs.pem("ca")}.tls12_only().get(base(service) + "/health").code == CURLE_SSL_CONNECT_ERROR);
  CHECK(https_client{certs.pem("ca")}.get(base(service) + "/health").status == 200);
  // The client may read the server's alert before the server has counted the failure.
  CHECK(agg::testing::eventually([&] { return service.plane().tls()->counts().failed == 1; }));
}

TEST_CASE("a TLS handshake that does not finish within handshake_timeout_ms is closed") {
  test_certs certs;
  local_upstream upstream;
  auto service = tls_service(tls_section(certs, "server", R"(,"handshake_timeout_ms":200)"), upstream.api("task_id=1"));
  agg::testing::raw_connection silent{service.port()};
  REQUIRE(silent.connected());
  const auto started = std::chrono::steady_clock::now();
  const auto reply = silent.read_until_close();  // sends nothing: no ClientHello
  CHECK(reply.closed_by_server);
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds{150});
  CHECK(service.plane().tls()->counts().timed_out == 1);
  CHECK(https_client{certs.pem("ca")}.get(base(service) + "/health").status == 200);  // others are served
}

TEST_CASE("a TLS data plane full of connections that never finish a handshake still serves a new client") {
  agg::process::raise_fd_limit();
  test_certs certs;
  local_upstream upstream;
  running_service service{agg::testing::config_from(
      R"({"server":{"listen":"127.0.0.1:0","max_connections":50,"tls":)" + tls_section(certs, "server") +
      R"(},"routes":[{"name":"t","path":"/api/t","upstreams":[{"url":")" + upstream.api("task_id=1") + R"("}]}]})")};
  std::vector<std::unique_ptr<agg::testing::raw_connection>> flood;
  for (int i = 0; i < 300; ++i) flood.push_back(std::make_unique<agg::testing::raw_connection>(service.port()));
  // Each past the cap closed the oldest one still in its handshake: it had asked for nothing.
  REQUIRE(agg::testing::eventually([&] { return service.plane().evicted_connections() >= 250; }));
  for (int probe = 0; probe < 5; ++probe) {
    INFO(probe);
    CHECK(https_client{certs.pem("ca")}.get(base(service) + "/api/t").status == 200);
  }
  CHECK(service.plane().refused_connections() == 0);
}

TEST_CASE("a graceful shutdown closes a connection still in its TLS handshake at once") {
  test_certs certs;
  local_upstream upstream;
  auto service = tls_service(tls_section(certs, "server"), upstream.api("task_id=1"));
  agg::testing::raw_connection stalled{service.port()};
  REQUIRE(stalled.send("\x16\x03\x01"));  // the start of a ClientHello, and no more
  REQUIRE(agg::testing::eventually([&] { return service.plane().open_connections() == 1; }));
  const auto started = std::chrono::steady_clock::now();
  CHECK(service.shut_down(std::chrono::seconds{20}));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds{5});  // not the grace, nor the deadline
  CHECK(stalled.read_until_close().closed_by_server);
}

TEST_CASE("a large answer reaches a slow TLS reader whole, and a stream's lines arrive over TLS") {
  test_certs certs;
  local_upstream upstream;
  auto service = tls_service(tls_section(certs, "server"), upstream.api("fault=oversized&size=600000&task_id={i}"));
  https_client slow{certs.pem("ca")};
  slow.slow_reader(16 << 20);  // 7 MB: more than the socket buffers hold, so TLS writes wait for it many times
  const auto answer = slow.get(base(service) + "/api/t?num=12");
  REQUIRE(answer.code == CURLE_OK);
  CHECK(answer.status == 200);
  CHECK(answer.body.size() > 7'000'000);
  const auto doc = boost::json::parse(answer.body);
  CHECK(doc.at("upstreams").at(0).at("error").is_null());
  CHECK(doc.at("upstreams").at(1).at("error").is_null());

  const auto stream = https_client{certs.pem("ca")}.get(base(service) + "/api/t/stream?num=2");
  REQUIRE(stream.code == CURLE_OK);
  CHECK(stream.status == 200);
  CHECK(std::count(stream.body.begin(), stream.body.end(), '\n') == 3);  // two calls and the summary
}

TEST_CASE("a route that requires a client certificate takes the subjects it names: 401 without, 403 another") {
  test_certs certs;
  local_upstream upstream;
  const std::string url = upstream.api("task_id=1");
  auto service = tls_service(
      tls_section(certs, "server", R"(,"client_ca_file":)" + json_text(certs.pem("ca"))), url,
      R"({"name":"mine","path":"/api/mine","access":{"require":"client_cert","client_subjects":["CN=aggregator"]},"upstreams":[{"url":")" +
          url +
          R"("}]},{"name":"theirs","path":"/api/theirs","access":{"require":"client_cert","client_subjects":["CN=someone-else"]},"upstreams":[{"url":")" +
          url + R"("}]},)");

  https_client anonymous{certs.pem("ca")};
  CHECK(anonymous.get(base(service) + "/api/t").status == 200);  // a route without the requirement
  const auto refused = anonymous.get(base(service) + "/api/mine");
  CHECK(refused.status == 401);
  CHECK(refused.body.find("client_certificate_required") != std::string::npos);

  https_client presenting{certs.pem("ca")};
  presenting.certificate(certs.pem("client"), certs.key("client"));
  CHECK(presenting.get(base(service) + "/api/mine").status == 200);
  const auto other = presenting.get(base(service) + "/api/theirs");
  CHECK(other.status == 403);
  CHECK(other.body.find("CN=aggregator") != std::string::npos);

  // A certificate the client CA did not sign: the handshake itself fails.
  https_client stranger{certs.pem("ca")};
  stranger.certificate(certs.pem("other-ca"), certs.key("other-ca"));
  CHECK(stranger.get(base(service) + "/api/t").code != CURLE_OK);
  CHECK(agg::testing::eventually([&] { return service.plane().tls()->counts().failed >= 1; }));
}

TEST_CASE("SIGHUP puts a new certificate in force for new connections, open ones go on, bad files keep the old") {
  test_certs certs;
  local_upstream upstream;
  const agg::testing::scratch_dir dir;
  const auto install = [&dir](const std::string &cert, const std::string &key) {
    std::filesystem::copy_file(cert, dir.path / "live.pem", std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(key, dir.path / "live.key", std::filesystem::copy_options::overwrite_existing);
  };
  install(certs.pem("server"), certs.key("server"));
  const std::string config = dir.file(
      "config.json",
      R"({"server":{"tls":{"cert_file":"live.pem","key_file":"live.key"}},"routes":[{"name":"t","path":"/api/t","upstreams":[{"url":")" +
          upstream.api("task_id=1") + R"("}]}]})");
  agg::process::child_process program{
      {AGG_AGGREGATOR_BINARY, "--config", config, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}};
  const std::string url = "https://127.0.0.1:" + std::to_string(program.listening_port()) + "/health";

  https_client kept{""};  // not verifying: the test looks at which certificate it was shown
  const auto first = kept.get(url);
  REQUIRE(first.code == CURLE_OK);
  CHECK(first.subject.find("127.0.0.1") != std::string::npos);

  install(certs.pem("wrong-name"), certs.key("wrong-name"));
  program.signal(SIGHUP);
  program.read_until("reloaded the certificate");
  CHECK(https_client{""}.get(url).subject.find("elsewhere.test") != std::string::npos);
  const auto on_open = kept.get(url);  // the connection opened before: still served
  CHECK(on_open.status == 200);
  CHECK(on_open.connects == 0);

  dir.file("live.pem", "not a certificate\n");
  program.signal(SIGHUP);
  const std::string refusal = program.read_until("the certificate in force keeps serving");
  CHECK(refusal.find("server.tls.cert_file") != std::string::npos);
  CHECK(https_client{""}.get(url).subject.find("elsewhere.test") != std::string::npos);

  program.signal(SIGTERM);
  CHECK(program.wait() == 0);
}

TEST_CASE("aggregator refuses to start on TLS files that do not serve, naming the key and the reason, exit 2") {
  test_certs certs;
  const agg::testing::scratch_dir dir;
  const auto start_with = [&](const std::string &cert, const std::string &key, const std::string &more = "") {
    const std::string config =
        dir.file("config.json",
                 R"({"server":{"tls":{"cert_file":)" + json_text(cert) + R"(,"key_file":)" + json_text(key) + more +
                     R"(}},"routes":[{"name":"t","path":"/api/t","upstreams":[{"url":"http://127.0.0.1:9/"}]}]})");
    agg::process::child_process program{
        {AGG_AGGREGATOR_BINARY, "--config", config, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}};
    std::string output = program.rest();
    CHECK(program.wait() == 2);
    return output;
  };
  const auto mismatch = start_with(certs.pem("server"), certs.key("client"));
  CHECK(mismatch.find("server.tls.key_file") != std::string::npos);
  CHECK(mismatch.find("does not match the certificate") != std::string::npos);
  const auto missing = start_with(certs.pem("server") + ".gone", certs.key("server"));
  CHECK(missing.find("server.tls.cert_file: no such file") != std::string::npos);
  const auto not_pem = start_with(dir.file("junk.pem", "junk\n"), certs.key("server"));
  CHECK(not_pem.find("server.tls.cert_file: no PEM certificate chain") != std::string::npos);
  const auto bad_ca = start_with(certs.pem("server"), certs.key("server"),
                                 R"(,"client_ca_file":)" + json_text(dir.file("empty.pem", "\n")));
  CHECK(bad_ca.find("server.tls.client_ca_file") != std::string::npos);
}

TEST_CASE("access.require client_cert needs server.tls.client_ca_file, client_subjects need client_cert") {
  const auto start = [](const std::string &config_text) {
    const agg::testing::scratch_dir dir;
    agg::process::child_process check{{AGG_AGGREGATOR_BINARY, "--check", dir.file("config.json", config_text)}};
    std::string output = check.rest();
    CHECK(check.wait() == 2);
    return output;
  };
  const auto no_ca = start(
      R"({"routes":[{"name":"t","path":"/api/t","access":{"require":"client_cert"},"upstreams":[{"url":"http://127.0.0.1:9/"}]}]})");
  CHECK(no_ca.find("routes[0].access.require: client_cert needs server.tls.client_ca_file") != std::string::npos);
  const auto misplaced = start(
      R"({"routes":[{"name":"t","path":"/api/t","access":{"require":"none","client_subjects":["CN=x"]},"upstreams":[{"url":"http://127.0.0.1:9/"}]}]})");
  CHECK(misplaced.find("access.client_subjects") != std::string::npos);
}
