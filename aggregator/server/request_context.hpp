#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace agg::server {

class client_connection;

/// What the front knows about the request a worker thread is answering: filled in as the request
/// goes through the front, read by the response hooks and the access log. One per worker thread;
/// a worker answers one request at a time, so no locking.
struct request_context {
  std::chrono::steady_clock::time_point started;
  const client_connection *connection = nullptr;  ///< the socket being served
  std::string request_id;
  std::string route = "-";  ///< the route's name, "-" for other paths
  std::size_t upstream_calls = 0;
  std::size_t upstream_failures = 0;
  std::string timing_entries;  ///< Server-Timing entries beyond the total, e.g. per upstream

  /// Starts a new request on this thread's connection; its first byte arrived at `first_byte`.
  void begin(const client_connection *serving, std::chrono::steady_clock::time_point first_byte) {
    started = first_byte;
    connection = serving;
    request_id.clear();
    route.assign(1, '-');  // `route = "-"` trips g++ 12's false -Wrestrict (GCC bug 105329)
    upstream_calls = upstream_failures = 0;
    timing_entries.clear();
  }
};

/// The calling worker thread's request.
inline request_context &current_request() {
  thread_local request_context context;
  return context;
}

}  // namespace agg::server
