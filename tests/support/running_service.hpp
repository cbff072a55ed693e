#pragma once

#include <httplib.h>

#include <chrono>
#include <string>
#include <thread>

#include "aggregator/client/upstream_client.hpp"
#include "aggregator/config/service_config.hpp"
#include "aggregator/server/http_front.hpp"
#include "aggregator/server/service_log.hpp"

namespace agg::testing {

/// The whole service in process: engine and HTTP front on 127.0.0.1 and a free port.
class running_service {
 public:
  explicit running_service(config::service_config config)
      : config_(std::move(config)),
        client_(config_.client),
        front_(config_, client_, quiet_),
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
  [[nodiscard]] server::http_front &front() noexcept { return front_; }
  [[nodiscard]] const server::http_front &front() const noexcept { return front_; }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  config::service_config config_;
  server::service_log quiet_{config::log_config{config::log_config::level::off, false}};
  client::upstream_client client_;
  server::http_front front_;
  std::uint16_t port_;
  std::thread thread_;
};

}  // namespace agg::testing
