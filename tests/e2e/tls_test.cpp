// HTTPS upstreams: verification against a CA, the failures a certificate can cause (each as error
// kind "tls" with curl's message), SNI through server_name, mutual TLS, the TLS files the config
// names checked at start with their JSON paths, and HTTP/2 where the linked libcurl does it.
#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <curl/curl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "aggregator/process/child_process.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/nginx_proxy.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"
#include "tests/support/test_certs.hpp"

using agg::testing::local_upstream;
using agg::testing::running_service;
using agg::testing::test_certs;

namespace {

upstream::upstream_options serving(const test_certs &certs, const std::string &name, bool client_ca = false) {
  upstream::upstream_options options;
  options.delay = std::chrono::milliseconds{0};
  options.tls_cert = certs.pem(name);
  options.tls_key = certs.key(name);
  if (client_ca) options.tls_client_ca = certs.pem("ca");
  return options;
}

/// A service with one route `/api/t` calling `url` once, and `client` as its config's client section
/// (with one loop and `shards` multi handles unless it says otherwise: connections are per shard).
running_service service_for(const std::string &url, std::string client, int shards = 1) {
  if (client.find("shards_per_loop") == std::string::npos)
    client.insert(1, R"("loops":1,"shards_per_loop":)" + std::to_string(shards) + (client == "{}" ? "" : ","));
  return running_service{agg::testing::config_from(R"({"server":{"listen":"127.0.0.1:0"},"client":)" + client +
                                                   R"(,"routes":[{"name":"t","path":"/api/t","upstreams":[{"url":")" +
                                                   url + R"("}]}]})")};
}

/// The one upstream entry of GET /api/t.
boost::json::object call_of(running_service &service) {
  const auto r = service.http().Get("/api/t");
  REQUIRE(r);
  return boost::json::parse(r->body).at("upstreams").at(0).as_object();
}

std::string kind_of(const boost::json::object &entry) {
  return entry.at("error").is_null() ? "ok" : std::string{entry.at("error").at("kind").as_string()};
}

std::string message_of(const boost::json::object &entry) {
  return entry.at("error").is_null() ? "" : std::string{entry.at("error").at("message").as_string()};
}

std::string json_string(const std::string &text) { return boost::json::serialize(boost::json::value(text)); }

}  // namespace

TEST_CASE("an https upstream signed by the configured CA answers, its connection is then reused") {
  test_certs certs;
  local_upstream upstream{serving(certs, "server")};
  auto service = service_for(upstream.api("task_id=1"), R"({"ca_file":)" + json_string(certs.pem("ca")) + "}");
  const auto first = call_of(service);
  CHECK(kind_of(first) == "ok");
  CHECK(first.at("connects") == 1);
  const auto second = call_of(service);
  CHECK(kind_of(second) == "ok");
  CHECK(second.at("connects") == 0);  // the pooled connection: no second handshake
  CHECK(upstream.stats().tls_handshakes == 1);
  CHECK(upstream.stats().connections_accepted == 1);
  const auto metrics = service.admin().Get("/metrics");
  REQUIRE(metrics);
  CHECK_THAT(metrics->body, Catch::Contains("\naggregator_upstream_connections_opened_total "));
  CHECK_THAT(metrics->body, Catch::Contains("\naggregator_upstream_connections_reused_total "));
  CHECK_THAT(metrics->body, !Catch::Contains("\naggregator_upstream_connections_reused_total 0\n"));
}

TEST_CASE("a loop's shards share TLS sessions: a second connection resumes the first one's session") {
  test_certs certs;
  local_upstream upstream{serving(certs, "server")};
  running_service service{agg::testing::config_from(
      R"({"server":{"listen":"127.0.0.1:0"},"client":{"loops":1,"shards_per_loop":2,"ca_file":)" +
      json_string(certs.pem("ca")) + R"(},"routes":[{"name":"t","path":"/api/t","num":{"default":1,"max":2},)" +
      R"("upstreams":[{"url":")" + upstream.api("barrier={num}&task_id={i}") + R"(","repeat":true}]}]})")};
  CHECK(call_of(service).at("connects") == 1);
  // Two calls at once: the first shard's connection, and the other shard's own.
  const auto both = boost::json::parse(service.http().Get("/api/t?num=2")->body).at("upstreams").as_array();
  CHECK(both.at(0).at("connects").as_int64() + both.at(1).at("connects").as_int64() == 1);
  CHECK(upstream.stats().tls_handshakes == 2);
  CHECK(upstream.stats().tls_resumed == 1);  // but not a full handshake (CURLSH's session cache)
}

TEST_CASE("each certificate problem is an error entry of kind tls with curl's reason") {
  test_certs certs;
  const std::string trusting_ca = R"({"ca_file":)" + json_string(certs.pem("ca")) + "}";

  SECTION("a CA the client does not trust") {
    local_upstream upstream{serving(certs, "server")};
    auto service = service_for(upstream.api("x=1"), R"({"ca_file":)" + json_string(certs.pem("other-ca")) + "}");
    const auto entry = call_of(service);
    CHECK(kind_of(entry) == "tls");
    CHECK_THAT(message_of(entry), Catch::Contains("certificate"));
  }
  SECTION("the system store does not know the test CA either") {
    local_upstream upstream{serving(certs, "server")};
    auto service = service_for(upstream.api("x=1"), "{}");
    CHECK(kind_of(call_of(service)) == "tls");
  }
  SECTION("a certificate for another host name") {
    local_upstream upstream{serving(certs, "wrong-name")};
    auto service = service_for(upstream.api("x=1"), trusting_ca);
    const auto entry = call_of(service);
    CHECK(kind_of(entry) == "tls");
    CHECK_THAT(message_of(entry), Catch::Contains("name"));
  }
  SECTION("an expired certificate") {
    local_upstream upstream{serving(certs, "expired")};
    auto service = service_for(upstream.api("x=1"), trusting_ca);
    const auto entry = call_of(service);
    CHECK(kind_of(entry) == "tls");
    CHECK_THAT(message_of(entry), Catch::Contains("expired"));
  }
  SECTION("mutual TLS required and no client certificate") {
    local_upstream upstream{serving(certs, "server", true)};
    auto service = service_for(upstream.api("x=1"), trusting_ca);
    CHECK(kind_of(call_of(service)) == "tls");
  }
}

TEST_CASE("per origin: server_name, a client certificate, and verify false") {
  test_certs certs;
  SECTION("server_name asks for and verifies the certificate's name") {
    local_upstream upstream{serving(certs, "wrong-name")};
    auto service =
        service_for(upstream.api("x=1"), R"({"ca_file":)" + json_string(certs.pem("ca")) + R"(,"origins":{")" +
                                             upstream.base() + R"(":{"tls":{"server_name":"elsewhere.test"}}}})");
    CHECK(kind_of(call_of(service)) == "ok");
  }
  SECTION("mutual TLS with the origin's client certificate") {
    local_upstream upstream{serving(certs, "server", true)};
    auto service = service_for(upstream.api("x=1"), R"({"origins":{")" + upstream.base() + R"(":{"tls":{"ca_file":)" +
                                                        json_string(certs.pem("ca")) + R"(,"cert_file":)" +
                                                        json_string(certs.pem("client")) + R"(,"key_file":)" +
                                                        json_string(certs.key("client")) + "}}}}");
    CHECK(kind_of(call_of(service)) == "ok");
  }
  SECTION("verify false accepts any certificate, for that origin only") {
    local_upstream upstream{serving(certs, "expired")};
    local_upstream other{serving(certs, "expired")};
    running_service service{agg::testing::config_from(
        R"({"server":{"listen":"127.0.0.1:0"},"client":{"origins":{")" + upstream.base() +
        R"(":{"tls":{"verify":false}}}},"routes":[{"name":"t","path":"/api/t","upstreams":[{"url":")" +
        upstream.api("x=1") + R"("},{"url":")" + other.api("x=2") + R"("}]}]})")};
    const auto r = service.http().Get("/api/t");
    REQUIRE(r);
    const auto calls = boost::json::parse(r->body).at("upstreams").as_array();
    CHECK(kind_of(calls[0].as_object()) == "ok");
    CHECK(kind_of(calls[1].as_object()) == "tls");
  }
}

TEST_CASE("the config's TLS files are checked at start, each problem with its JSON path") {
  test_certs certs;
  const auto check = [&](const std::string &client) {
    const std::string file = certs.dir().file(
        "config.json", R"({"client":)" + client +
                           R"(,"routes":[{"name":"t","path":"/t","upstreams":[{"url":"https://127.0.0.1:9/x"}]}]})");
    agg::process::child_process run{{AGG_AGGREGATOR_BINARY, "--check", file}};
    const std::string output = run.rest();
    return std::pair{run.wait(), output};
  };
  const std::string origin = R"("https://127.0.0.1:9")";
  const auto with_tls = [&](const std::string &tls) {
    return R"({"origins":{)" + origin + R"(:{"tls":)" + tls + "}}}";
  };

  CHECK(
      check(
          R"({"ca_file":"ca.pem","origins":{"https://127.0.0.1:9":{"tls":{"cert_file":"client.pem","key_file":"client.key"}}}})")
          .first == 0);  // relative to the config's folder
  auto [code, output] = check(with_tls(R"({"cert_file":"client.pem","key_file":"missing.key"})"));
  CHECK(code == 2);
  CHECK_THAT(output, Catch::Contains(R"(client.origins["https://127.0.0.1:9"].tls.key_file: no such file)"));

  REQUIRE(::chmod(certs.key("client").c_str(), 0644) == 0);
  std::tie(code, output) = check(with_tls(R"({"cert_file":"client.pem","key_file":"client.key"})"));
  CHECK(code == 2);
  CHECK_THAT(output, Catch::Contains(R"(tls.key_file: the key file )") &&
                         Catch::Contains("readable by every user (mode 0644)"));
  REQUIRE(::chmod(certs.key("client").c_str(), 0600) == 0);

  std::tie(code, output) = check(with_tls(R"({"cert_file":"client.pem","key_file":"server.key"})"));
  CHECK(code == 2);
  CHECK_THAT(output, Catch::Contains("tls.key_file: does not match the certificate"));

  std::tie(code, output) = check(R"({"ca_file":"client.key"})");
  CHECK(code == 2);
  CHECK_THAT(output, Catch::Contains("client.ca_file: no CA certificates in"));

  std::tie(code, output) = check(with_tls(R"({"cert_file":"client.pem"})"));
  CHECK(code == 2);
  CHECK_THAT(output, Catch::Contains("tls.key_file: a client certificate needs both cert_file and key_file"));

  std::tie(code, output) = check(R"({"origins":{"http://127.0.0.1:9":{"tls":{"verify":false}},"https://a/b":{}}})");
  CHECK(code == 2);
  CHECK_THAT(output, Catch::Contains(R"(client.origins["http://127.0.0.1:9"].tls: is for https origins)"));
  CHECK_THAT(output, Catch::Contains(R"(client.origins["https://a/b"]: must be an origin)"));
}

TEST_CASE("the bundled upstream serves HTTPS from the command line, and requires client certificates when told") {
  test_certs certs;
  agg::process::child_process upstream{{AGG_UPSTREAM_BINARY, "--listen", "127.0.0.1:0", "--tls-cert",
                                        certs.pem("server"), "--tls-key", certs.key("server"), "--tls-client-ca",
                                        certs.pem("ca")}};
  const int port = upstream.listening_port();
  const std::string origin = "https://127.0.0.1:" + std::to_string(port);
  running_service without{agg::testing::config_from(
      R"({"server":{"listen":"127.0.0.1:0"},"client":{"ca_file":)" + json_string(certs.pem("ca")) +
      R"(},"routes":[{"name":"t","path":"/api/t","upstreams":[{"url":")" + origin + R"(/api/?x=1"}]}]})")};
  CHECK(kind_of(call_of(without)) == "tls");
  auto with =
      service_for(origin + "/api/?x=1", R"({"ca_file":)" + json_string(certs.pem("ca")) + R"(,"origins":{")" + origin +
                                            R"(":{"tls":{"cert_file":)" + json_string(certs.pem("client")) +
                                            R"(,"key_file":)" + json_string(certs.key("client")) + "}}}}");
  CHECK(kind_of(call_of(with)) == "ok");
  upstream.signal(SIGTERM);
  CHECK(upstream.wait() == 0);
}

namespace {

/// Debian's nginx serving HTTPS with HTTP/2 (and HTTP/1.1, by ALPN) in front of `backend`, logging
/// each request's connection number and protocol.
class nginx_h2 {
 public:
  nginx_h2(const test_certs &certs, const local_upstream &backend) {
    const std::string prefix = dir_.path.string();
    port_ = agg::testing::refused_port();
    const std::string conf = dir_.file(
        "nginx.conf", "daemon off; master_process off; worker_processes 1;\npid " + prefix +
                          "/nginx.pid; error_log stderr warn;\nevents { worker_connections 256; }\nhttp {\n"
                          "  log_format conn '$connection $request_uri $server_protocol';\n  access_log " +
                          prefix + "/access.log conn;\n  client_body_temp_path " + prefix + "/b; proxy_temp_path " +
                          prefix + "/p; fastcgi_temp_path " + prefix + "/f; uwsgi_temp_path " + prefix +
                          "/u; scgi_temp_path " + prefix + "/s;\n  server { listen 127.0.0.1:" + std::to_string(port_) +
                          " ssl http2;\n    ssl_certificate " + certs.pem("server") + "; ssl_certificate_key " +
                          certs.key("server") + ";\n    location / { proxy_pass " + backend.base() + "; } } }\n");
    process_.emplace(std::vector<std::string>{agg::testing::nginx_proxy::binary, "-p", prefix, "-c", conf});
  }
  [[nodiscard]] std::string origin() const { return "https://127.0.0.1:" + std::to_string(port_); }
  /// "connection target protocol" of every request logged so far.
  [[nodiscard]] std::vector<std::string> log() const {
    std::ifstream in{dir_.path / "access.log"};
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

 private:
  agg::testing::scratch_dir dir_;
  std::uint16_t port_ = 0;
  std::optional<agg::process::child_process> process_;
};

bool links_curl_8() { return curl_version_info(CURLVERSION_NOW)->version_num >= 0x080000; }

}  // namespace

TEST_CASE("an origin set to HTTP/2 gets an aggregation's ten calls on one connection (TLS, ALPN)") {
  INFO("nginx is missing: scripts/install-deps.sh installs it (Debian's nginx-light)");
  REQUIRE(std::filesystem::exists(agg::testing::nginx_proxy::binary));
  test_certs certs;
  local_upstream backend{std::chrono::milliseconds{20}};  // long enough for all ten to be in flight at once
  nginx_h2 nginx{certs, backend};
  const std::string ca = json_string(certs.pem("ca"));
  for (const auto &[http, connections, protocol] :
       {std::tuple{"2", 1, "HTTP/2.0"}, std::tuple{"1.1", 10, "HTTP/1.1"}}) {
    INFO(http);
    running_service service{agg::testing::config_from(
        R"({"server":{"listen":"127.0.0.1:0"},"client":{"ca_file":)" + ca + R"(,"origins":{")" + nginx.origin() +
        R"(":{"http":")" + http + R"("}}},"routes":[{"name":"t","path":"/api/t","upstreams":[{"url":")" +
        nginx.origin() +
        R"(/api/?task_id={i}&run={run}","repeat":true}],"num":{"default":10,"max":10},"params":{"run":{}}}]})")};
    // Up once nginx, started just before, answers a call.
    const bool up = agg::testing::eventually([&] {
      const auto warm = service.http().Get("/api/t?num=1&run=warm");
      return warm && boost::json::parse(warm->body).at("succeeded") == 1;
    });
    REQUIRE(up);
    const std::string run = std::string{"run="} + (http[0] == '2' ? "h2" : "h1");
    const auto r = service.http().Get("/api/t?num=10&" + run);
    REQUIRE(r);
    const auto doc = boost::json::parse(r->body);
    CHECK(doc.at("succeeded") == 10);
    long connects = 0;
    for (const auto &entry : doc.at("upstreams").as_array()) connects += entry.at("connects").as_int64();
    CHECK(connects <= connections);  // the warm-up call may have left one open
    std::vector<std::string> lines;  // this run's, once nginx has logged them all
    const bool logged = agg::testing::eventually([&] {
      lines.clear();
      for (const auto &line : nginx.log())
        if (line.find(run + " ") != std::string::npos) lines.push_back(line);
      return lines.size() >= 10;
    });
    CHECK(logged);
    std::set<std::string> used;
    for (const auto &line : lines) {
      CHECK_THAT(line, Catch::EndsWith(protocol));
      used.insert(line.substr(0, line.find(' ')));
    }
    CHECK(lines.size() == 10);
    CHECK(used.size() == static_cast<std::size_t>(connections));
  }
}

TEST_CASE("HTTP/2 is refused where the linked libcurl gets it wrong, and --check says why") {
  const auto problems = [](const std::string &origins) {
    const auto parsed = agg::config::parse_config(
        R"({"client":{"origins":)" + origins +
        R"(},"routes":[{"name":"t","path":"/t","upstreams":[{"url":"http://127.0.0.1:9/x"}]}]})");
    const auto *errors = std::get_if<agg::config::config_errors>(&parsed);
    return errors == nullptr ? std::string{} : to_string(errors->at(0));
  };
  CHECK(problems(R"({"https://127.0.0.1:9":{"http":"2"}})").empty());
  CHECK(problems(R"({"http://127.0.0.1:9":{"http":"auto"}})").empty());  // auto is HTTP/1.1 without TLS
  CHECK(problems(R"({"http://127.0.0.1:9":{"http":"3"}})") ==
        R"(client.origins["http://127.0.0.1:9"].http: must be "1.1", "2" or "auto")");
  if (links_curl_8()) {
    CHECK(problems(R"({"http://127.0.0.1:9":{"http":"2"}})").empty());
  } else {
    CHECK_THAT(problems(R"({"http://127.0.0.1:9":{"http":"2"}})"),
               Catch::StartsWith(R"(client.origins["http://127.0.0.1:9"].http: cannot be "2": libcurl 7.)") &&
                   Catch::Contains("fails parallel HTTP/2 streams without TLS (h2c)"));
  }
}
