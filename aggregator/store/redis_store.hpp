#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aggregator/client/upstream_client.hpp"
#include "aggregator/config/service_config.hpp"
#include "aggregator/runtime/metrics.hpp"
#include "aggregator/runtime/service_log.hpp"
#include "aggregator/store/redis_link.hpp"

namespace agg::store {

/// The service's Redis (`store`): one redis_link per event loop, so that what a loop serves talks
/// to Redis without a lock or a hand-off between threads, and every key it names under
/// `store.key_prefix`. Links connect when started and keep reconnecting; the log hears each one
/// that goes down or comes back. Thread-safe but for link(), which is its loop's.
class redis_store {
 public:
  /// `password`: the one config::load_store_password found (redis_url's, its file's or the variable's).
  redis_store(const config::store_config &config, client::upstream_client &loops, const runtime::service_log &log,
              std::string password);
  redis_store(const redis_store &) = delete;
  redis_store &operator=(const redis_store &) = delete;

  /// Every link connects, on its loop.
  void start();
  /// The link of the loop `index` (upstream_loop::index()); used on that loop only.
  [[nodiscard]] redis_link &link(std::size_t index) noexcept { return *links_[index]; }
  /// Every link is up.
  [[nodiscard]] bool up() const noexcept;
  /// What the links have counted together, for /metrics.
  [[nodiscard]] runtime::redis_counts counts() const noexcept;
  [[nodiscard]] const config::store_config &config() const noexcept { return config_; }
  /// `suffix` under the configured prefix: the name of a key the service owns.
  [[nodiscard]] std::string key(std::string_view suffix) const { return config_.key_prefix + std::string{suffix}; }

 private:
  config::store_config config_;
  std::vector<std::unique_ptr<redis_link>> links_;
};

}  // namespace agg::store
