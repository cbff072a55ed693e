#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "aggregator/client/upstream_client.hpp"
#include "aggregator/config/service_config.hpp"
#include "aggregator/filters/filter_chain.hpp"
#include "aggregator/front/listening_socket.hpp"
#include "aggregator/front/server_tls.hpp"
#include "aggregator/runtime/admission.hpp"
#include "aggregator/runtime/service_log.hpp"
#include "aggregator/runtime/unsent_bytes.hpp"

namespace agg::front {

class loop_front;

/// The public HTTP front: one loop_front on each event loop, all taking connections from one
/// listening socket, so a request is read, filtered, served and written on the loop its connection
/// was handed to, with no thread hand-off after. What it serves is the filter chain's business; the
/// admin API and `/metrics` are the control plane's. With `server.tls` every connection is TLS
/// (server_tls: the certificate, reloaded on SIGHUP). What it is handed must outlive it.
class data_plane {
 public:
  data_plane(const config::server_config &server, client::upstream_client &loops, const filters::filter_chain &chain,
             runtime::admission &aggregations, runtime::unsent_bytes &unsent, const runtime::service_log &log);
  data_plane(const data_plane &) = delete;
  data_plane &operator=(const data_plane &) = delete;
  /// Closes every connection (shut_down() first for a graceful end).
  ~data_plane();

  /// Binds and listens on `server.listen` (port 0: a free port); returns the port. Throws
  /// std::runtime_error saying why it cannot (address in use, ...).
  std::uint16_t bind();
  /// Starts serving on every loop.
  void start();
  /// Graceful stop: no new connections, answers close their connections, idle ones close now;
  /// aggregations in flight get up to `grace`, then are cancelled (and still answered). Returns
  /// true when nothing had to be cancelled. Any thread but a loop's.
  bool shut_down(std::chrono::milliseconds grace);

  [[nodiscard]] const config::server_config &server() const noexcept { return server_; }
  [[nodiscard]] const filters::filter_chain &chain() const noexcept { return chain_; }
  [[nodiscard]] const runtime::service_log &log() const noexcept { return log_; }
  /// What answers waiting for slow clients hold, every connection's output buffer together.
  [[nodiscard]] runtime::unsent_bytes &unsent() noexcept { return unsent_; }
  /// The listener's TLS (server.tls); null when it speaks cleartext.
  [[nodiscard]] server_tls *tls() noexcept { return tls_.get(); }
  [[nodiscard]] const server_tls *tls() const noexcept { return tls_.get(); }
  /// Client connections open now, across the loops. Any thread.
  [[nodiscard]] std::size_t open_connections() const noexcept { return open_.load(std::memory_order_relaxed); }
  /// Connections closed at once because `server.max_connections` were open and none was idle. Any thread.
  [[nodiscard]] std::uint64_t refused_connections() const noexcept { return refused_.load(std::memory_order_relaxed); }

  /// Counts a new connection in; false when the cap is reached.
  bool admit_connection() noexcept;
  /// A new connection was closed at once: the cap was reached and no idle one could make room.
  void count_refused() noexcept { refused_.fetch_add(1, std::memory_order_relaxed); }
  /// An idle connection was closed to make room for a new one at the cap.
  void count_evicted() noexcept { evicted_.fetch_add(1, std::memory_order_relaxed); }
  /// Idle connections closed to make room so far. Any thread.
  [[nodiscard]] std::uint64_t evicted_connections() const noexcept { return evicted_.load(std::memory_order_relaxed); }
  void release_connection() noexcept;

  /// What happened on HTTP/2 connections: one began (ALPN h2 or h2c), or one ended with GOAWAY
  /// because its client misbehaved.
  enum class http2_event { connection, rapid_reset, control_flood, protocol_error };
  void count_http2(http2_event what) noexcept {
    http2_[static_cast<std::size_t>(what)].fetch_add(1, std::memory_order_relaxed);
  }
  /// How often `what` happened so far. Any thread.
  [[nodiscard]] std::uint64_t http2_count(http2_event what) const noexcept {
    return http2_[static_cast<std::size_t>(what)].load(std::memory_order_relaxed);
  }
  /// The loop that should take a new connection: `accepting`, unless another serves fewer.
  [[nodiscard]] loop_front &least_loaded(loop_front &accepting) noexcept;
  /// The loop after `front` (itself when it is the only one): where a full loop looks for room.
  [[nodiscard]] loop_front *next_after(const loop_front &front) noexcept;

 private:
  void on_each_loop(void (loop_front::*what)());
  /// Waits until every connection has closed, or until `until`.
  void wait_closed(std::chrono::steady_clock::time_point until);

  const config::server_config &server_;
  client::upstream_client &loops_;
  const filters::filter_chain &chain_;
  runtime::admission &aggregations_;
  runtime::unsent_bytes &unsent_;
  const runtime::service_log &log_;
  std::unique_ptr<server_tls> tls_;
  std::optional<listening_socket> socket_;
  std::vector<std::unique_ptr<loop_front>> fronts_;
  std::atomic<std::size_t> open_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> evicted_{0};
  std::array<std::atomic<std::uint64_t>, 4> http2_{};
  std::mutex closed_mutex_;
  std::condition_variable closed_;  // notified when the last connection closes
};

}  // namespace agg::front
