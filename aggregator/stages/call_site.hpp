#pragma once

#include <chrono>
#include <cstddef>
#include <stop_token>

#include "aggregator/client/client_options.hpp"
#include "aggregator/client/upstream_loop.hpp"
#include "aggregator/coro/task.hpp"

namespace agg::stages {

/// Where a plan's calls run: on an event loop (the async path and the stream), or one after another
/// on the calling thread (the sync baseline, on the blocking pool). Stages ask it to wait, so that
/// one stage serves both: on a loop the loop goes on meanwhile; blocking, the thread sleeps.
class call_site {
 public:
  using clock = std::chrono::steady_clock;

  /// Calls made on `loop`, with its thread.
  static call_site on_loop(client::upstream_loop &loop) noexcept { return call_site{&loop, nullptr}; }
  /// Calls made with curl easy on the calling thread.
  static call_site blocking(const client::client_options &options) noexcept { return call_site{nullptr, &options}; }

  /// The loop, or null on the blocking site.
  [[nodiscard]] client::upstream_loop *loop() const noexcept { return loop_; }
  /// The options blocking calls use (the blocking site only).
  [[nodiscard]] const client::client_options &options() const noexcept { return *options_; }

  /// Waits until `when`, or less when `stop` is requested; true when the time came. On a loop it
  /// resumes on the loop thread.
  [[nodiscard]] coro::task<bool> sleep_until(clock::time_point when, std::stop_token stop) const;

 private:
  call_site(client::upstream_loop *loop, const client::client_options *options) noexcept
      : loop_(loop), options_(options) {}

  client::upstream_loop *loop_;
  const client::client_options *options_;
};

}  // namespace agg::stages
