#pragma once

#include <future>
#include <memory>
#include <string>

#include "aggregator/config/live_routes.hpp"
#include "aggregator/coro/detached.hpp"
#include "aggregator/coro/task.hpp"
#include "aggregator/runtime/service_log.hpp"
#include "aggregator/store/redis_store.hpp"

namespace agg::store {

/// The route table every replica serves, kept in Redis (with store.redis_url): the definitions as
/// one JSON value and the version beside it, written together by one Lua script only when the
/// version is the one the writer started from (compare-and-set), which also publishes the new
/// version on a channel. Each replica listens on that channel (redis_store::subscribe) and
/// compares versions every 500 ms and whenever the subscriber reconnects, so a change reaches it
/// within milliseconds, and within half a second when a message was missed. A newer table is
/// adopted (requests in flight keep the one they started with); an empty Redis (new, or restarted
/// without persistence) is given this replica's table, so that an accepted change outlives Redis
/// as long as one replica does.
class shared_routes final : public config::route_share, private loop::loop_hooks {
 public:
  shared_routes(redis_store &store, config::live_routes &routes, const runtime::service_log &log);
  shared_routes(const shared_routes &) = delete;
  shared_routes &operator=(const shared_routes &) = delete;
  /// After the loops stopped.
  ~shared_routes();

  /// Takes the routes' changes over, connects the subscriber and compares versions at once; waits
  /// (a few store timeouts at most) for that first comparison, so that a replica that starts
  /// later serves the shared table from its first request.
  void start();

  // config::route_share: from the control plane's threads (they wait for the first loop).
  std::variant<std::uint64_t, stale, unavailable> put(std::uint64_t expected, std::uint64_t next,
                                                      const boost::json::array &definitions) override;
  std::variant<std::pair<std::uint64_t, boost::json::array>, unavailable> get() override;

 private:
  using stored = std::variant<std::pair<std::uint64_t, boost::json::array>, unavailable>;
  using written = std::variant<std::uint64_t, stale, unavailable>;
  /// The commands themselves, on the first loop.
  coro::task<stored> read_table();
  coro::task<written> write_table(std::uint64_t expected, std::uint64_t next, std::string definitions);
  /// Compares the stored version with the one in force: adopts a newer table, gives an empty (or
  /// older) Redis this one. On the first loop; one at a time.
  coro::detached check();
  /// Logs `problem` (an unreadable or invalid shared table) unless it was the last one logged: the
  /// checks every 500 ms would repeat it.
  void complain(std::string problem);

  [[nodiscard]] std::optional<loop::clock::time_point> next_deadline() const override { return next_check_; }
  void on_round(loop::clock::time_point now) override;
  void on_stop() override { stopping_ = true; }

  redis_store &store_;
  config::live_routes &routes_;
  const runtime::service_log &log_;
  loop::event_loop &loop_;  // the first loop's: the links this uses are its
  const std::string table_key_;
  const std::string version_key_;
  const std::string channel_;
  std::optional<loop::clock::time_point> next_check_;  // loop thread
  bool checking_ = false;                              // loop thread
  bool stopping_ = false;                              // loop thread
  bool hooked_ = false;
  std::promise<void> compared_;  // set by the first check that reached Redis
  bool said_compared_ = false;   // loop thread
  std::string last_problem_;     // loop thread
};

}  // namespace agg::store
