#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

namespace agg::calls {

/// The body bytes an aggregation's calls may receive between them (its route's
/// max_response_bytes): shared by those calls, taken from as their bodies arrive, on any thread.
/// Once a chunk would pass the limit the budget is spent: that call and every call after it end as
/// `too_large`, so one request never makes the service hold more than the limit in bodies. A budget
/// may also draw on a pool several aggregations share (the job store's jobs.max_bytes): each byte
/// is taken from the pool too, and the pool refuses past its limit, which spends this budget, until
/// its users give back what they held.
class byte_budget {
 public:
  explicit byte_budget(std::size_t limit) noexcept : limit_(limit) {}

  /// Draws on `pool` from now on; before any byte is taken (one thread).
  void draw_on(std::shared_ptr<byte_budget> pool) noexcept { pool_ = std::move(pool); }

  /// Takes `bytes` from it (and its pool); false (nothing taken, and the budget spent) when that
  /// would pass the limit, its own or the pool's.
  bool take(std::size_t bytes) noexcept {
    if (spent_.load(std::memory_order_relaxed)) return false;
    if (!reserve(bytes)) {
      spent_.store(true, std::memory_order_relaxed);
      return false;
    }
    if (pool_ && !pool_->reserve(bytes)) {
      used_.fetch_sub(bytes, std::memory_order_relaxed);
      pool_ran_out_.store(true, std::memory_order_relaxed);
      spent_.store(true, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
  /// Gives back to its pool what it took from it: what it holds is freed (a job evicted). Once.
  void release_pool() noexcept {
    if (pool_) pool_->used_.fetch_sub(used_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    pool_.reset();
  }

  [[nodiscard]] bool spent() const noexcept { return spent_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::size_t limit() const noexcept { return limit_; }
  /// Taken so far.
  [[nodiscard]] std::size_t used() const noexcept { return used_.load(std::memory_order_relaxed); }
  /// Why a call ended too_large once it is spent: which limit the bodies reached.
  [[nodiscard]] std::string spent_detail() const;

 private:
  /// Counts `bytes` in under the limit; false (nothing counted) when they would pass it. A pool is
  /// never spent for good: it refuses while it is full.
  bool reserve(std::size_t bytes) noexcept {
    const std::size_t before = used_.fetch_add(bytes, std::memory_order_relaxed);
    if (before + bytes <= limit_) return true;
    used_.fetch_sub(bytes, std::memory_order_relaxed);
    return false;
  }

  const std::size_t limit_;
  std::atomic<std::size_t> used_{0};
  std::atomic<bool> spent_{false};
  std::atomic<bool> pool_ran_out_{false};
  std::shared_ptr<byte_budget> pool_;
};

}  // namespace agg::calls
