#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace agg::bench {

/// What a flood holds open against a server, and how fast its storm and its pipelines go.
struct flood_settings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t idle = 0;       ///< connections that send nothing
  std::size_t drip = 0;       ///< connections that send a request head one byte per `drip_interval`
  std::size_t slow = 0;       ///< connections that send `slow_target` requests and never read the answers
  std::size_t pipelined = 0;  ///< connections that send `pipeline_depth` tiny requests at once, read, repeat
  std::size_t storm = 0;      ///< threads that connect and close (half with a reset) as fast as they can
  std::chrono::milliseconds drip_interval{1'000};
  std::string slow_target = "/ui";  ///< what a slow reader asks for (a page tens of KiB long)
  std::size_t slow_requests = 64;   ///< pipelined on each slow reader at once: far more than a socket buffer holds
  std::size_t pipeline_depth = 64;
};

/// Hostile clients that cost a server connections and bytes, not aggregations: idle ones, heads
/// dripped a byte at a time, slow readers (answers never read), many tiny pipelined requests, and
/// connect/close storms. A connection the server closes is opened again, so the flood keeps its
/// size for as long as it runs. One thread with epoll (plus the storm's); stops on destruction.
class flood {
 public:
  explicit flood(flood_settings settings);
  flood(const flood &) = delete;
  flood &operator=(const flood &) = delete;
  ~flood();

  /// Connections open now (connected, not yet closed by the server).
  [[nodiscard]] std::size_t open() const noexcept { return open_.load(std::memory_order_relaxed); }
  /// Connections the server closed (and the flood opened again) so far.
  [[nodiscard]] std::size_t closed_by_server() const noexcept { return closed_.load(std::memory_order_relaxed); }
  /// Answers the pipelined connections have read so far.
  [[nodiscard]] std::size_t pipelined_answers() const noexcept { return answers_.load(std::memory_order_relaxed); }
  /// Connections the storm opened and closed so far.
  [[nodiscard]] std::size_t storm_connections() const noexcept { return stormed_.load(std::memory_order_relaxed); }
  /// The connections it keeps open (idle + drip + slow + pipelined).
  [[nodiscard]] std::size_t size() const noexcept {
    return settings_.idle + settings_.drip + settings_.slow + settings_.pipelined;
  }

 private:
  class connection_set;
  void run();
  void storm();

  flood_settings settings_;
  std::atomic<bool> running_{true};
  std::atomic<std::size_t> open_{0};
  std::atomic<std::size_t> closed_{0};
  std::atomic<std::size_t> answers_{0};
  std::atomic<std::size_t> stormed_{0};
  std::thread thread_;
  std::vector<std::thread> storm_;
};

/// Latencies of a probe that opens a new connection for each request, as a load balancer's health
/// check does; a probe that got no 200 within its timeout counts as failed.
struct probe_result {
  std::vector<double> latencies_s;  ///< sorted
  std::size_t failures = 0;
  [[nodiscard]] double percentile(double p) const;
};

/// GETs `path` every `interval` until `duration` has passed, each on a new connection.
probe_result probe(const std::string &host, std::uint16_t port, const std::string &path,
                   std::chrono::milliseconds duration, std::chrono::milliseconds interval);

}  // namespace agg::bench
