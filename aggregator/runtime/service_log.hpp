#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "aggregator/config/service_config.hpp"

namespace agg::runtime {

/// One answered request, as the access log prints it.
struct access_entry {
  std::string_view request_id;
  std::string_view method;
  std::string_view path;
  std::string_view route;  ///< the route's name, or "-"
  int status = 0;
  std::size_t bytes = 0;
  std::chrono::steady_clock::duration took{};
  std::size_t upstream_calls = 0;
  std::size_t upstream_failures = 0;
  std::string_view trace_id;   ///< empty when the request is in no trace
  std::string_view span_id;    ///< the request's own span
  std::string_view parent_id;  ///< the caller's span; empty when the trace started here
  std::string_view identity;   ///< who sent it (`jwt:alice`, `key:mobile`); empty when nobody said; never a credential
};

/// Writes the service's log to stderr, one line per event (text or JSON), each with a single
/// write so lines from many threads never interleave. Thread-safe.
class service_log {
 public:
  explicit service_log(config::log_config settings) noexcept : settings_(settings) {}

  /// One line per answered request, at `info`.
  void access(const access_entry &entry) const;
  /// An event of the service itself (start, stop, trouble).
  void event(config::log_config::level level, std::string_view message) const;
  /// A line of the start banner (where the service listens, its routes) on stdout, where scripts
  /// read the ports from: plain text, or `{"time","level":"info","message"}` with the JSON format,
  /// so that a JSON log stays JSON throughout; nothing with the level `off`.
  void announce(std::string_view message) const;
  [[nodiscard]] bool enabled(config::log_config::level level) const noexcept {
    return level >= settings_.threshold && settings_.threshold != config::log_config::level::off;
  }

 private:
  config::log_config settings_;
};

}  // namespace agg::runtime
