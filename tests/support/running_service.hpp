#pragma once

#include <httplib.h>
#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "aggregator/client/transfer.hpp"
#include "aggregator/client/upstream_client.hpp"
#include "aggregator/config/access_tokens.hpp"
#include "aggregator/config/live_routes.hpp"
#include "aggregator/config/service_config.hpp"
#include "aggregator/control/admin_server.hpp"
#include "aggregator/front/data_plane.hpp"
#include "aggregator/runtime/engine.hpp"
#include "aggregator/runtime/service_log.hpp"

namespace agg::testing {

/// The whole service in process: the engine, the data plane and the control plane, on 127.0.0.1
/// and free ports. Route changes stay in memory unless `config_file` names where to save them.
class running_service {
 public:
  explicit running_service(config::service_config config, config::access_tokens tokens = {},
                           std::string config_file = {})
      : config_(on_free_ports(std::move(config))),
        routes_(config_.routes, std::move(config_file)),
        client_(config_.client),
        engine_(config_, routes_, client_, quiet_, tokens),
        data_(engine_),
        control_(engine_, [this] { return gauges(); }),
        port_(data_.bind()),
        admin_port_(control_.bind()),
        control_thread_([this] { control_.run(); }) {
    data_.start();
  }
  running_service(const running_service &) = delete;
  running_service &operator=(const running_service &) = delete;
  ~running_service() {
    control_.stop();
    control_thread_.join();
  }

  /// A client for the data plane with a generous read timeout (sync requests take seconds).
  [[nodiscard]] httplib::Client http() const { return client_for(port_); }
  /// A client for the control plane (admin API, /metrics).
  [[nodiscard]] httplib::Client admin() const { return client_for(admin_port_); }
  [[nodiscard]] const client::upstream_client &upstream() const noexcept { return client_; }
  [[nodiscard]] config::live_routes &routes() noexcept { return routes_; }
  [[nodiscard]] front::data_plane &plane() noexcept { return data_; }
  [[nodiscard]] std::size_t aggregations_in_flight() const noexcept { return engine_.aggregations.in_flight(); }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::uint16_t admin_port() const noexcept { return admin_port_; }

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
  runtime::metrics::gauges gauges() {
    runtime::metrics::gauges now;
    now.aggregations_in_flight = engine_.aggregations.in_flight();
    now.transfers_in_flight = client_.transfers_in_flight();
    now.open_connections = data_.open_connections();
    now.connections_refused = data_.refused_connections();
    const auto connections = client::connections_so_far();
    now.upstream_connections_opened = connections.opened;
    now.upstream_connections_reused = connections.reused;
    return now;
  }

  config::service_config config_;
  config::live_routes routes_;
  runtime::service_log quiet_{config::log_config{config::log_config::level::off, false}};
  client::upstream_client client_;
  runtime::engine engine_;
  front::data_plane data_;
  control::admin_server control_;
  std::uint16_t port_;
  std::uint16_t admin_port_;
  std::thread control_thread_;
};

/// The JSON body of `GET target` on `service`'s data plane, checking its status.
inline boost::json::value get_json(const running_service &service, const std::string &target, int expected = 200) {
  const auto r = service.http().Get(target);
  REQUIRE(r);
  CHECK(r->status == expected);
  return boost::json::parse(r->body);
}

}  // namespace agg::testing
