#pragma once

#include <atomic>
#include <cstddef>

namespace agg::runtime {

/// What answers waiting for their clients to read them hold, across every data-plane connection:
/// the bytes copied into connections' output buffers (a shared body, e.g. a finished job's
/// document, is kept once by its owner and not counted per reader). Past `limit` (server.
/// max_unsent_bytes) new requests are refused until slow readers drain or their send_timeout_ms
/// drops them: a crowd that does not read costs bounded memory. Thread-safe.
class unsent_bytes {
 public:
  explicit unsent_bytes(std::size_t limit) noexcept : limit_(limit) {}
  unsent_bytes(const unsent_bytes &) = delete;
  unsent_bytes &operator=(const unsent_bytes &) = delete;

  /// A connection's buffer went from `before` to `after` bytes.
  void change(std::size_t before, std::size_t after) noexcept {
    if (after >= before)
      held_.fetch_add(after - before, std::memory_order_relaxed);
    else
      held_.fetch_sub(before - after, std::memory_order_relaxed);
  }
  [[nodiscard]] std::size_t held() const noexcept { return held_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::size_t limit() const noexcept { return limit_; }
  /// True while new requests should wait.
  [[nodiscard]] bool over() const noexcept { return held() > limit_; }

 private:
  const std::size_t limit_;
  std::atomic<std::size_t> held_{0};
};

}  // namespace agg::runtime
