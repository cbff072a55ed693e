#pragma once

#include <atomic>
#include <cstddef>

namespace agg::calls {

/// The body bytes an aggregation's calls may receive between them (its route's
/// max_response_bytes): shared by those calls, taken from as their bodies arrive, on any thread.
/// Once a chunk would pass the limit the budget is spent: that call and every call after it end as
/// `too_large`, so one request never makes the service hold more than the limit in bodies.
class byte_budget {
 public:
  explicit byte_budget(std::size_t limit) noexcept : limit_(limit) {}

  /// Takes `bytes` from it; false (nothing taken, and the budget spent) when that would pass the limit.
  bool take(std::size_t bytes) noexcept {
    if (spent_.load(std::memory_order_relaxed)) return false;
    const std::size_t before = used_.fetch_add(bytes, std::memory_order_relaxed);
    if (before + bytes <= limit_) return true;
    used_.fetch_sub(bytes, std::memory_order_relaxed);
    spent_.store(true, std::memory_order_relaxed);
    return false;
  }
  [[nodiscard]] bool spent() const noexcept { return spent_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::size_t limit() const noexcept { return limit_; }

 private:
  const std::size_t limit_;
  std::atomic<std::size_t> used_{0};
  std::atomic<bool> spent_{false};
};

}  // namespace agg::calls
