#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include "aggregator/client/client_options.hpp"
#include "aggregator/client/upstream_loop.hpp"

namespace agg::client {

/// The process's event loops, each with its upstream side (`client.loops` of them; 0: one per core).
/// The data plane serves client connections on the same loops; other callers (jobs started off a
/// loop, tests, benchmarks) get one per aggregation, round robin, so that the calls of one
/// aggregation share a thread. Thread-safe.
class upstream_client {
 public:
  explicit upstream_client(const client_options &options);

  /// A loop for the next aggregation; it lives as long as the client.
  [[nodiscard]] upstream_loop &pick_loop() noexcept;
  [[nodiscard]] std::size_t loop_count() const noexcept { return loops_.size(); }
  [[nodiscard]] upstream_loop &loop(std::size_t index) noexcept { return *loops_[index]; }
  [[nodiscard]] const client_options &options() const noexcept { return options_; }
  /// Transfers in flight across all loops.
  [[nodiscard]] std::size_t transfers_in_flight() const noexcept;
  /// Stops every loop (see upstream_loop::stop). Not from a loop thread.
  void stop();
  /// True when every loop thread is running.
  [[nodiscard]] bool running() const noexcept;
  /// The longest wait of work handed to any loop since the previous call (see upstream_loop).
  [[nodiscard]] std::chrono::nanoseconds take_max_lag() noexcept;

 private:
  client_options options_;
  std::vector<std::unique_ptr<upstream_loop>> loops_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace agg::client
