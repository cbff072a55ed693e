#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace agg::bench {

/// What a flood holds open against a server.
struct flood_settings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t idle = 0;  ///< connections that send nothing
  std::size_t drip = 0;  ///< connections that send a request head one byte per `drip_interval`
  std::chrono::milliseconds drip_interval{1'000};
};

/// Hostile clients that cost a server connections, not requests: idle ones and heads dripped a
/// byte at a time. A connection the server closes is opened again, so the flood keeps its size for
/// as long as it runs. One thread with epoll; stops and closes everything on destruction.
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

 private:
  void run();

  flood_settings settings_;
  std::atomic<bool> running_{true};
  std::atomic<std::size_t> open_{0};
  std::atomic<std::size_t> closed_{0};
  std::thread thread_;
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
