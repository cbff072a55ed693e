#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "aggregator/auth/jwt_verifier.hpp"
#include "aggregator/calls/upstream_call.hpp"
#include "aggregator/coro/detached.hpp"
#include "aggregator/coro/task.hpp"

namespace agg::client {
class upstream_loop;
}

namespace agg::auth {

/// Where a verifier's keys come from over the network (`auth.jwt.jwks_url`) and how often.
struct jwks_source {
  std::string url;
  std::chrono::seconds refresh{300};     ///< `refresh_s`: the keys are fetched again this often
  std::chrono::seconds refresh_min{30};  ///< `refresh_min_s`: never more often than this, whatever asks
  std::vector<std::string> algorithms;
};

/// The GET a JWKS is fetched with: 10 s, at most 1 MiB.
calls::upstream_call jwks_call(const std::string &url);
/// The key set a JWKS fetch brought, or why it brought none (no answer, not 200, not a JWKS, no
/// key that can verify a token).
std::variant<key_set, std::string> keys_from(const calls::upstream_reply &reply, const jwks_source &source);

/// Keeps a verifier's keys fresh from its JWKS URL, through the service's own upstream client (on
/// one of its loops: TLS verified with the client's CAs, like every upstream call): every
/// `refresh`, and when a token names a kid no key has (a rotation), at most once per
/// `refresh_min` however many such tokens arrive: forged kids cannot make it a fetch amplifier.
/// A refresh that fails keeps the keys in use and says so (`report`). Thread-safe; must outlive
/// its loop's thread (the service stops its loops first).
class jwks_refresher {
 public:
  using reporter = std::function<void(bool ok, const std::string &message)>;

  jwks_refresher(std::shared_ptr<jwt_verifier> verifier, jwks_source source, reporter report)
      : verifier_(std::move(verifier)), source_(std::move(source)), report_(std::move(report)) {}
  jwks_refresher(const jwks_refresher &) = delete;
  jwks_refresher &operator=(const jwks_refresher &) = delete;

  /// Refreshes on `loop` every `refresh` from now until the loop stops.
  void start(client::upstream_loop &loop);
  /// A token named an unknown kid: refresh now, unless a refresh began less than `refresh_min` ago
  /// (or none can run yet). Any thread.
  void on_unknown_key();

  [[nodiscard]] std::uint64_t refreshed() const noexcept { return refreshed_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t failures() const noexcept { return failures_.load(std::memory_order_relaxed); }

 private:
  /// True when a refresh may begin now (none began within `refresh_min`); then it counts as begun.
  bool claim_attempt();
  coro::detached run(client::upstream_loop &loop);
  coro::detached refresh_now(client::upstream_loop &loop);
  coro::task<void> refresh(client::upstream_loop &loop);

  std::shared_ptr<jwt_verifier> verifier_;
  jwks_source source_;
  reporter report_;
  std::atomic<client::upstream_loop *> loop_{nullptr};
  std::atomic<std::int64_t> last_attempt_{std::numeric_limits<std::int64_t>::min()};  // steady ns
  std::atomic<std::uint64_t> refreshed_{0};
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace agg::auth
