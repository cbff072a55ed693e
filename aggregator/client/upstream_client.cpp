#include "aggregator/client/upstream_client.hpp"

#include <algorithm>
#include <thread>

namespace agg::client {

upstream_client::upstream_client(const client_options &options) : options_(options) {
  const std::size_t count =
      options.loops != 0 ? options.loops : std::max<std::size_t>(1, std::thread::hardware_concurrency());
  const std::size_t per_loop = std::max<std::size_t>(1, options.max_connections / count);
  for (std::size_t i = 0; i < count; ++i) loops_.push_back(std::make_unique<upstream_loop>(options, per_loop, i));
}

upstream_loop &upstream_client::pick_loop() noexcept {
  return *loops_[next_.fetch_add(1, std::memory_order_relaxed) % loops_.size()];
}

void upstream_client::stop() {
  for (const auto &loop : loops_) loop->stop();
}

bool upstream_client::running() const noexcept {
  return std::all_of(loops_.begin(), loops_.end(), [](const auto &loop) { return loop->running(); });
}

std::chrono::nanoseconds upstream_client::take_max_lag() noexcept {
  std::chrono::nanoseconds worst{0};
  for (const auto &loop : loops_) worst = std::max(worst, loop->take_max_lag());
  return worst;
}

std::size_t upstream_client::transfers_in_flight() const noexcept {
  std::size_t total = 0;
  for (const auto &loop : loops_) total += loop->transfers_in_flight();
  return total;
}

}  // namespace agg::client
