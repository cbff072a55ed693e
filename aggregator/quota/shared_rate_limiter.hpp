#pragma once

#include <optional>
#include <string>

#include "aggregator/coro/task.hpp"
#include "aggregator/quota/rate_limiter.hpp"
#include "aggregator/store/redis_link.hpp"

namespace agg::quota {

/// The same GCRA as rate_limiter, kept in Redis so that every replica charges one count: one Lua
/// script per decision (EVALSHA, one round trip; EVAL once after Redis lost its script cache),
/// timed by Redis's own clock (TIME), so replicas' clocks never disagree about a key. The key's
/// theoretical arrival time is stored in microseconds and expires when a full burst is back.
class shared_rate_limiter {
 public:
  /// Charges `units` to the Redis key `key` at `r` through `link`; nullopt when Redis gave no
  /// answer (down, timed out, or an error reply): the caller falls back. On `link`'s loop.
  [[nodiscard]] static coro::task<std::optional<decision>> charge(store::redis_link &link, std::string key,
                                                                  double units, rate r);
  /// The script's text and its SHA-1 (what EVALSHA names).
  [[nodiscard]] static const std::string &script();
  [[nodiscard]] static const std::string &script_sha1();
};

}  // namespace agg::quota
