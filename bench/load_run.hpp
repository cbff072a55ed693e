#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace agg::calls {
struct upstream_reply;
}

namespace agg::bench {

/// A closed-loop load: `clients` clients, each sending its next request when the previous one is
/// answered, for `duration`. Clients start evenly spread over `ramp` (not all in one millisecond).
struct load_settings {
  std::string url;
  std::size_t clients = 100;
  std::chrono::milliseconds duration{30'000};
  std::chrono::milliseconds ramp{1'000};
  std::chrono::milliseconds request_timeout{60'000};
  /// Requests sent this soon after the start count for throughput and errors but not for the
  /// latency percentiles: separates the ramp (connections being opened) from the steady state.
  std::chrono::milliseconds warmup{0};
  /// Called with every reply, on the load's own thread (one for all clients): a check of bodies.
  std::function<void(const calls::upstream_reply &)> on_reply;
};

/// What a load run measured, from the clients' side.
struct load_result {
  std::size_t completed = 0;                  ///< answered with HTTP 200
  std::map<std::string, std::size_t> errors;  ///< by kind: "timeout", "connect", "http_503", ...
  std::vector<double> latencies_s;            ///< of the 200s sent after the warm-up, sorted
  double seconds = 0;                         ///< from the first start to the last answer

  [[nodiscard]] double percentile(double p) const;
  [[nodiscard]] double throughput() const { return seconds > 0 ? static_cast<double>(completed) / seconds : 0; }
};

/// Runs the load with one upstream loop (every client is a coroutine on it); `on_progress` is
/// called about once a second from another thread with (elapsed, completed, errors).
load_result run_load(const load_settings &settings,
                     const std::function<void(double, std::size_t, std::size_t)> &on_progress = {});

}  // namespace agg::bench
