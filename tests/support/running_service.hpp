#pragma once

#include <httplib.h>

#include <chrono>
#include <string>
#include <thread>

#include "aggregator/client/upstream_client.hpp"
#include "aggregator/config/access_tokens.hpp"
#include "aggregator/config/live_routes.hpp"
#include "aggregator/config/service_config.hpp"
#include "aggregator/server/http_front.hpp"
#include "aggregator/server/service_log.hpp"

namespace agg::testing {

/// The whole service in process: engine and HTTP front on 127.0.0.1 and a free port. Route changes
/// stay in memory unless `config_file` names where to save them.
class running_service {
 public:
  explicit running_service(config::service_config config, config::access_tokens tokens = {},
                           std::string config_file = {})
      : config_(std::move(config)),
        routes_(config_.routes, std::move(config_file)),
        client_(config_.client),
        front_(config_, routes_, client_, quiet_, tokens),
        port_(front_.bind()),
        thread_([this] { front_.run(); }) {}
  running_service(const running_service &) = delete;
  running_service &operator=(const running_service &) = delete;
  ~running_service() {
    front_.stop();
    thread_.join();
  }

  /// A client for this service with a generous read timeout (sync requests take seconds).
  [[nodiscard]] httplib::Client http() const {
    httplib::Client c{"127.0.0.1", port_};
    c.set_read_timeout(std::chrono::seconds{60});
    return c;
  }
  [[nodiscard]] const client::upstream_client &engine() const noexcept { return client_; }
  [[nodiscard]] config::live_routes &routes() noexcept { return routes_; }
  [[nodiscard]] server::http_front &front() noexcept { return front_; }
  [[nodiscard]] const server::http_front &front() const noexcept { return front_; }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  config::service_config config_;
  config::live_routes routes_;
  server::service_log quiet_{config::log_config{config::log_config::level::off, false}};
  client::upstream_client client_;
  server::http_front front_;
  std::uint16_t port_;
  std::thread thread_;
};

}  // namespace agg::testing
