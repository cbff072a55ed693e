#pragma once

#include <httplib.h>
#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "aggregator/app/service.hpp"
#include "tests/support/routes.hpp"

namespace agg::testing {

/// The whole service in process (app::service: both planes, their filters and endpoints), on
/// 127.0.0.1 and free ports, the control plane on a thread of its own. Route changes stay in memory
/// unless `config_file` names where to save them.
class running_service {
 public:
  explicit running_service(config::service_config config, const config::access_tokens &tokens = {},
                           std::string config_file = {})
      : service_(on_free_ports(std::move(config)), tokens, quiet_, std::move(config_file)),
        ports_(service_.bind()),
        control_thread_([this] { service_.run_control(); }) {
    service_.start();
  }
  running_service(const running_service &) = delete;
  running_service &operator=(const running_service &) = delete;
  ~running_service() {
    service_.stop_control();
    control_thread_.join();
  }

  /// A client for the data plane with a generous read timeout (sync requests take seconds).
  [[nodiscard]] httplib::Client http() const { return client_for(ports_.data); }
  /// A client for the control plane (admin API, /metrics).
  [[nodiscard]] httplib::Client admin() const { return client_for(ports_.control); }
  [[nodiscard]] const client::upstream_client &upstream() const noexcept { return service_.loops(); }
  [[nodiscard]] config::live_routes &routes() noexcept { return service_.routes(); }
  [[nodiscard]] front::data_plane &plane() noexcept { return service_.data(); }
  [[nodiscard]] std::size_t aggregations_in_flight() const noexcept { return service_.aggregations().in_flight(); }
  [[nodiscard]] std::uint16_t port() const noexcept { return ports_.data; }
  [[nodiscard]] std::uint16_t admin_port() const noexcept { return ports_.control; }
  /// What SIGTERM does (app::service::shut_down): the data plane drains, the last spans are sent.
  bool shut_down(std::chrono::milliseconds grace) { return service_.shut_down(grace); }

 private:
  static config::service_config on_free_ports(config::service_config config) {
    config.server.port = 0;
    config.server.admin_port = 0;
    return config;
  }
  static httplib::Client client_for(std::uint16_t port) {
    httplib::Client c{"127.0.0.1", port};
    c.set_read_timeout(std::chrono::seconds{60});
    return c;
  }

  runtime::service_log quiet_{config::log_config{config::log_config::level::off, false}};
  app::service service_;
  app::service::ports ports_;
  std::thread control_thread_;
};

/// A service on one loop with route `/api/t` (`num` calls to `url`, 1 by default, 50 at most),
/// `extra_routes` (each followed by a comma) before it, and `server_members` (each after a comma)
/// in its server section.
inline running_service one_route_service(const std::string &server_members, const std::string &url,
                                         const std::string &extra_routes = "") {
  return running_service{
      config_from(R"({"server":{"listen":"127.0.0.1:0")" + server_members + R"(},"client":{"loops":1},"routes":[)" +
                  extra_routes + R"({"name":"t","path":"/api/t","num":{"default":1,"max":50},"upstreams":[{"url":")" +
                  url + R"(","repeat":true}]}]})")};
}

/// The JSON body of `GET target` on `service`'s data plane, checking its status.
inline boost::json::value get_json(const running_service &service, const std::string &target, int expected = 200) {
  const auto r = service.http().Get(target);
  REQUIRE(r);
  CHECK(r->status == expected);
  return boost::json::parse(r->body);
}

}  // namespace agg::testing
