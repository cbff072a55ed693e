#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <list>
#include <mutex>
#include <stop_token>
#include <utility>
#include <variant>

namespace agg::runtime {

/// Which aggregations may start, and the set of those running: at most `max` at once (past it a
/// request is refused at once rather than slowing everyone down), none once the service is shutting
/// down; and every running one can be cancelled when a shutdown's grace period runs out.
/// Thread-safe.
class admission {
  using registry = std::list<std::stop_source>;

 public:
  explicit admission(std::size_t max) noexcept : max_(max) {}
  admission(const admission &) = delete;
  admission &operator=(const admission &) = delete;

  /// An admitted aggregation's place: counted, and cancellable by a shutdown, while it lives.
  class ticket {
   public:
    ticket(ticket &&other) noexcept : owner_(std::exchange(other.owner_, nullptr)), place_(other.place_) {}
    ticket &operator=(ticket &&) = delete;
    ticket(const ticket &) = delete;
    ticket &operator=(const ticket &) = delete;
    ~ticket() {
      if (owner_ != nullptr) owner_->release(place_);
    }

   private:
    friend class admission;
    ticket(admission &owner, registry::iterator place) noexcept : owner_(&owner), place_(place) {}
    admission *owner_;
    registry::iterator place_;
  };

  /// Why an aggregation was not admitted.
  enum class refusal { overloaded, shutting_down };

  /// Admits an aggregation that `stop` cancels, or says why not.
  std::variant<ticket, refusal> admit(std::stop_source stop);
  /// From now on nothing is admitted. Any thread.
  void begin_shutdown() noexcept { shutting_down_.store(true, std::memory_order_release); }
  [[nodiscard]] bool shutting_down() const noexcept { return shutting_down_.load(std::memory_order_acquire); }
  /// Aggregations admitted and not finished.
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_.load(std::memory_order_acquire); }
  /// Requests the stop of every aggregation in flight; they end soon after, still answered.
  void cancel_all();
  /// True once cancel_all ran: a call cancelled from then on was cancelled by the shutdown.
  [[nodiscard]] bool cancelled_all() const noexcept { return cancelled_all_.load(std::memory_order_acquire); }
  /// Waits until no aggregation is in flight, or until `until`; true when none is. Not from a loop.
  bool wait_idle(std::chrono::steady_clock::time_point until);

 private:
  void release(registry::iterator place) noexcept;

  const std::size_t max_;
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> cancelled_all_{false};
  std::mutex mutex_;
  std::condition_variable idle_;  // notified when the last one in flight ends
  registry running_;              // guarded by mutex_
};

}  // namespace agg::runtime
