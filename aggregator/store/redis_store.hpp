#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aggregator/client/upstream_client.hpp"
#include "aggregator/config/service_config.hpp"
#include "aggregator/runtime/metrics.hpp"
#include "aggregator/runtime/service_log.hpp"
#include "aggregator/store/redis_link.hpp"
#include "aggregator/store/redis_signals.hpp"

namespace agg::store {

/// The service's Redis (`store`): one redis_link per event loop, so that what a loop serves talks
/// to Redis without a lock or a hand-off between threads, and every key it names under
/// `store.key_prefix`; and one subscriber link, on the first loop, for every channel the parts
/// that share state listen to (route changes, job cancels, coalesced calls' results). Links
/// connect when started and keep reconnecting; the log hears each one that goes down or comes
/// back. Thread-safe but for link(), which is its loop's, and subscribe(), before start().
class redis_store {
 public:
  /// `lease`: how long this replica's lease lasts unrenewed (jobs.lease_ms). `password`: the one
  /// config::load_store_password found (redis_url's, its file's or the variable's).
  redis_store(const config::store_config &config, std::chrono::milliseconds lease, client::upstream_client &loops,
              const runtime::service_log &log, std::string password);
  redis_store(const redis_store &) = delete;
  redis_store &operator=(const redis_store &) = delete;

  /// Before start(): each message published on `channel` goes to `handler`, and `on_up` runs each
  /// time the subscriber (re)connects (messages may have been missed while it was away); both on
  /// the first loop.
  void subscribe(std::string channel, message_handler handler, std::function<void()> on_up = {});
  /// Every link connects, on its loop.
  void start();
  /// The link of the loop `index` (upstream_loop::index()); used on that loop only.
  [[nodiscard]] redis_link &link(std::size_t index) noexcept { return *links_[index]; }
  /// Every link is up.
  [[nodiscard]] bool up() const noexcept;
  /// What the links have counted together, for /metrics.
  [[nodiscard]] runtime::redis_counts counts() const noexcept;
  [[nodiscard]] const config::store_config &config() const noexcept { return config_; }
  /// Names published for every replica's waiters (channel `signals`).
  [[nodiscard]] redis_signals &signals() noexcept { return signals_; }
  /// `suffix` under the configured prefix: the name of a key the service owns.
  [[nodiscard]] std::string key(std::string_view suffix) const { return config_.key_prefix + std::string{suffix}; }
  /// This replica's name among the others, fresh at each start.
  [[nodiscard]] const std::string &replica() const noexcept { return replica_; }
  /// The key that exists while `replica` is alive: its lease, which shared_jobs renews every
  /// lease() / 3. What a replica holds (a job, a coalesced call) is given up once its lease expired.
  [[nodiscard]] std::string lease_key(std::string_view replica) const { return key("replica:" + std::string{replica}); }
  [[nodiscard]] std::chrono::milliseconds lease() const noexcept { return lease_; }

 private:
  struct subscription {
    std::string channel;
    message_handler handler;
    std::function<void()> on_up;
  };

  config::store_config config_;
  const runtime::service_log &log_;
  std::vector<std::unique_ptr<redis_link>> links_;
  std::vector<subscription> subscriptions_;  // fixed once started
  std::unique_ptr<redis_link> subscriber_;   // with any subscription
  redis_signals signals_;
  const std::string replica_;
  const std::chrono::milliseconds lease_;
};

}  // namespace agg::store
