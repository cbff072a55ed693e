#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "aggregator/front/listening_socket.hpp"
#include "aggregator/runtime/engine.hpp"

namespace agg::front {

class loop_front;

/// The public HTTP front: one loop_front on each of the engine's event loops, all taking
/// connections from one listening socket, so a request is read, planned, gathered, rendered and
/// written on the loop that accepted its connection, with no thread hand-off. Serves the routes'
/// endpoints (async, sync baseline, stream), the jobs API, `/`, `/health` and `/ready`; the admin API
/// and `/metrics` are the control plane's. The engine must outlive it.
class data_plane {
 public:
  explicit data_plane(runtime::engine &engine);
  data_plane(const data_plane &) = delete;
  data_plane &operator=(const data_plane &) = delete;
  /// Closes every connection (stop() first for a graceful end).
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

  [[nodiscard]] runtime::engine &engine() noexcept { return engine_; }
  /// Client connections open now, across the loops. Any thread.
  [[nodiscard]] std::size_t open_connections() const noexcept { return open_.load(std::memory_order_relaxed); }
  /// Connections closed at once because `server.max_connections` were open. Any thread.
  [[nodiscard]] std::uint64_t refused_connections() const noexcept { return refused_.load(std::memory_order_relaxed); }

  /// Counts a new connection in; false (and counted as refused) when the cap is reached.
  bool admit_connection() noexcept;
  void release_connection() noexcept { open_.fetch_sub(1, std::memory_order_relaxed); }
  /// The loop that should take a new connection: `accepting`, unless another serves fewer.
  [[nodiscard]] loop_front &least_loaded(loop_front &accepting) noexcept;

 private:
  void on_each_loop(void (loop_front::*what)());

  runtime::engine &engine_;
  std::optional<listening_socket> socket_;
  std::vector<std::unique_ptr<loop_front>> fronts_;
  std::atomic<std::size_t> open_{0};
  std::atomic<std::uint64_t> refused_{0};
};

}  // namespace agg::front
