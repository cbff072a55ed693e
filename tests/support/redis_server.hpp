#pragma once

#include <signal.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "aggregator/process/child_process.hpp"
#include "tests/support/local_upstream.hpp"

namespace agg::testing {

/// Debian's redis-server on 127.0.0.1 and a free port, without persistence (no RDB, no AOF): the
/// shared store's tests start their own. stop() and start() again keep the port (a Redis that went
/// away and came back); pause() and resume() freeze it (SIGSTOP: connected, silent).
class redis_server {
 public:
  static constexpr const char *binary = "/usr/bin/redis-server";

  explicit redis_server(std::string password = {}) : password_(std::move(password)) {
    // A free port is found by binding port 0 and letting it go; another process could take it in
    // between, so a start that fails is tried again on a new one.
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = refused_port();
      if (start_once()) return;
    }
    throw std::runtime_error("redis-server did not start");
  }

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// `redis://127.0.0.1:<port>/<db>`.
  [[nodiscard]] std::string url(int db = 0) const {
    return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
  }
  [[nodiscard]] bool running() const noexcept { return process_.has_value(); }

  /// Kills it (SIGKILL: connections reset, nothing saved).
  void stop() { process_.reset(); }
  /// Starts it again on the same port, empty.
  void start() {
    if (!start_once()) throw std::runtime_error("redis-server did not start again on port " + std::to_string(port_));
  }
  void pause() const { process_->signal(SIGSTOP); }
  void resume() const { process_->signal(SIGCONT); }

 private:
  bool start_once() {
    std::vector<std::string> argv{binary,         "--port", std::to_string(port_), "--bind", "127.0.0.1",  "--save", "",
                                  "--appendonly", "no",     "--daemonize",         "no",     "--loglevel", "notice"};
    if (!password_.empty()) {
      argv.emplace_back("--requirepass");
      argv.push_back(password_);
    }
    process_.emplace(argv);
    try {
      process_->read_until("Ready to accept connections");
      return true;
    } catch (const std::exception &) {
      process_.reset();
      return false;
    }
  }

  std::string password_;
  std::uint16_t port_ = 0;
  std::optional<process::child_process> process_;
};

}  // namespace agg::testing
