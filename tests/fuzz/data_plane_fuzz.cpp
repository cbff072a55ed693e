// The data plane's request handling: bytes in, through a real listener, Boost.Beast's parser and
// the router, to whatever the service answers, with real upstream calls behind it (the bundled
// upstream, in process). Each input is one connection's bytes, then a last request that closes
// it. Every answer must be well-formed HTTP/1.1 whose JSON bodies parse, and the service must
// keep answering.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "aggregator/app/service.hpp"
#include "aggregator/config/load_config.hpp"
#include "aggregator/runtime/service_log.hpp"
#include "tests/fuzz/wire.hpp"
#include "upstream/upstream_server.hpp"

namespace {

agg::config::service_config config_for(std::uint16_t upstream) {
  const std::string u = "http://127.0.0.1:" + std::to_string(upstream);
  auto parsed = agg::config::parse_config(
      R"({"server":{"listen":"127.0.0.1:0","admin_listen":"127.0.0.1:0","request_timeout_ms":300,"keep_alive_timeout_ms":300,"send_timeout_ms":1000,
                 "cors":{"allow_origins":["https://app.test","https://*.example.org"],"allow_credentials":true},
                 "compression":{"min_bytes":16}},
      "client":{"loops":1,"shards_per_loop":2},"jobs":{"max":50,"keep_finished_ms":1000},
      "routes":[
      {"name":"demo","path":"/api/demo","num":{"default":2,"max":20},"timeout_ms":500,"deadline_ms":1000,
       "params":{"q":{"default":"x"}},"forward_headers":["X-User"],
       "upstreams":[{"url":")" +
      u + R"(/api/?task_id={i}&q={q}","repeat":true}]},
      {"name":"composed","path":"/api/composed","timeout_ms":500,"deadline_ms":1000,"params":{"id":{"default":"1"}},
       "upstreams":[{"name":"user","url":")" +
      u + R"(/users/{id}"},
                    {"name":"orders","url":")" +
      u + R"(/users/{user.body#/id}/orders"},
                    {"name":"products","url":")" +
      u + R"(/products/{item}","for_each":"orders.body#/orders/*/product_id","max_items":5}]},
      {"name":"post","path":"/api/post","timeout_ms":500,"deadline_ms":1000,"max_request_body_bytes":4096,
       "upstreams":[{"url":")" +
      u + R"(/echo?name={request.body#/name}","method":"POST","body":{"who":"{request.body#/name}"}},
                    {"url":")" +
      u + R"(/echo","method":"PUT","forward_body":true}]},
      {"name":"text","path":"/api/text","accept_non_json":true,"timeout_ms":500,"deadline_ms":1000,
       "upstreams":[{"url":")" +
      u + R"(/api/?fault=binary"},{"url":")" + u + R"(/api/?fault=garbage"}]}]})");
  if (const auto *errors = std::get_if<agg::config::config_errors>(&parsed)) {
    std::fprintf(stderr, "fuzz config: %s\n", to_string(errors->front()).c_str());
    std::abort();
  }
  return std::get<agg::config::service_config>(std::move(parsed));
}

/// The service, started once for the whole run.
struct service {
  upstream::upstream_server upstream{upstream::upstream_options{"127.0.0.1", 0, std::chrono::milliseconds{0}}};
  agg::config::service_config config = (upstream.start(), config_for(upstream.port()));
  agg::runtime::service_log quiet{agg::config::log_config{agg::config::log_config::level::off, false}};
  agg::app::service aggregator{config, {}, quiet};
  std::uint16_t port = aggregator.bind().data;
  service() { aggregator.start(); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  static service s;
  const std::string_view bytes{reinterpret_cast<const char *>(data), size};
  const std::string reply =
      agg::fuzz::exchange(s.port, bytes, agg::fuzz::closing_request, std::chrono::milliseconds{2000});
  // An answer to HEAD has a head only: without knowing which request was one, the answers after
  // it cannot be told apart, so such inputs are checked for the service's health alone. Input that
  // opens with HTTP/2's preface is answered in HTTP/2 frames (h2c): h2_frames_fuzz judges those.
  constexpr std::string_view h2_preface{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"};
  if (bytes.find("HEAD") == std::string_view::npos && !bytes.starts_with(h2_preface)) agg::fuzz::check_responses(reply);
  agg::fuzz::check_still_serving(s.port);
  return 0;
}
