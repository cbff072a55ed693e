#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace agg::bench {

/// Hostile HTTP/2 clients (h2c, prior knowledge), one thread per connection, each opened again
/// when the server closes it.
struct h2_flood_settings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  /// Connections sending HEADERS then RST_STREAM for `reset_target`, 100 streams per write, as fast
  /// as the server reads (rapid reset, CVE-2023-44487).
  std::size_t rapid_reset = 0;
  std::string reset_target = "/api/aggregated?num=10";
  /// Connections keeping as many /health streams open as the server allows, reading the answers.
  std::size_t many_streams = 0;
  /// Connections that open a zero flow-control window and ask for `stalled_target` on 100 streams,
  /// never letting an answer's DATA through.
  std::size_t zero_window = 0;
  std::string stalled_target = "/ui";
};

/// Runs the HTTP/2 floods of `settings` until destroyed.
class h2_flood {
 public:
  explicit h2_flood(h2_flood_settings settings);
  h2_flood(const h2_flood &) = delete;
  h2_flood &operator=(const h2_flood &) = delete;
  ~h2_flood();

  /// Connections open now.
  [[nodiscard]] std::size_t open() const noexcept { return open_.load(std::memory_order_relaxed); }
  /// Connections the server closed (after GOAWAY or a deadline) and the flood opened again.
  [[nodiscard]] std::size_t closed_by_server() const noexcept { return closed_.load(std::memory_order_relaxed); }
  /// Answers the many-streams connections read whole, so far.
  [[nodiscard]] std::size_t answers() const noexcept { return answers_.load(std::memory_order_relaxed); }
  /// The connections it keeps.
  [[nodiscard]] std::size_t size() const noexcept {
    return settings_.rapid_reset + settings_.many_streams + settings_.zero_window;
  }

 private:
  enum class kind { rapid_reset, many_streams, zero_window };
  void run(kind what);

  h2_flood_settings settings_;
  std::atomic<bool> running_{true};
  std::atomic<std::size_t> open_{0};
  std::atomic<std::size_t> closed_{0};
  std::atomic<std::size_t> answers_{0};
  std::vector<std::thread> threads_;
};

}  // namespace agg::bench
