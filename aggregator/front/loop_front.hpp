#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <unordered_set>

#include "aggregator/client/upstream_loop.hpp"
#include "aggregator/filters/request_context.hpp"
#include "aggregator/filters/responder.hpp"
#include "aggregator/http/request.hpp"
#include "aggregator/http/request_limits.hpp"
#include "aggregator/io/unique_fd.hpp"
#include "aggregator/loop/deadline_list.hpp"
#include "aggregator/loop/event_loop.hpp"

namespace agg::front {

class connection;
class data_plane;

/// The data plane on one event loop: takes its share of new connections from the shared listening
/// socket, owns them and their deadlines, and hands their requests to the listener's filter chain,
/// on the same thread as the upstream calls those requests make. Loop thread only, but for attach/detach (through
/// event_loop::call).
class loop_front final : private loop::loop_hooks {
 public:
  loop_front(data_plane &plane, client::upstream_loop &upstream);
  loop_front(const loop_front &) = delete;
  loop_front &operator=(const loop_front &) = delete;
  ~loop_front();

  /// Starts taking connections from `listen_fd` (loop thread).
  void attach(int listen_fd);
  /// Stops taking new connections (loop thread).
  void stop_accepting();
  /// From now on every answer closes its connection, and idle connections close now (loop thread).
  void drain();
  /// Closes every connection and leaves the loop (loop thread).
  void detach();

  [[nodiscard]] data_plane &plane() noexcept { return plane_; }
  [[nodiscard]] client::upstream_loop &upstream() noexcept { return upstream_; }
  [[nodiscard]] loop::event_loop &events() noexcept { return upstream_.events(); }
  [[nodiscard]] const http::request_limits &limits() const noexcept { return limits_; }
  /// True once drain() was called: answers close their connections.
  [[nodiscard]] bool draining() const noexcept { return draining_; }

  /// Where a connection reads into: one buffer per loop, so an idle connection holds none.
  [[nodiscard]] std::span<char> scratch() noexcept { return {scratch_->data(), scratch_->size()}; }

  /// The deadlines a connection can wait under.
  loop::deadline_list handshake_deadlines;  ///< a new TLS connection, to its finished handshake
  loop::deadline_list fresh_deadlines;      ///< a new connection (its handshake done), to its first byte
  loop::deadline_list request_deadlines;    ///< first byte of a request to its last byte
  loop::deadline_list idle_deadlines;       ///< keep-alive: the end of an answer to the next request's first byte
  loop::deadline_list send_deadlines;       ///< an answer that the client does not read
  loop::deadline_list linger_deadlines;     ///< reading what a refused client still sends, before closing

  /// The connection is open and counted (connection::open); forget() when it closes.
  void adopt(connection &c);
  void forget(connection &c) noexcept;
  /// Connections this loop serves or was handed and has not opened yet. Any thread.
  [[nodiscard]] std::size_t load() const noexcept { return load_.load(std::memory_order_relaxed); }
  /// Takes a socket another loop accepted (it counted it here already): serves it from now on. Any
  /// thread; the socket is closed when this loop no longer runs. `at_cap`: not counted yet, because
  /// the connection cap was reached; served only when a connection of this loop that sent nothing
  /// makes room for it, else handed on (`hops` counts how often it was).
  void hand_over(io::unique_fd socket, bool at_cap = false, int hops = 0);
  /// Hands a complete request to the filter chain, to be served on this loop and answered through
  /// `to` (the connection, or one of its HTTP/2 streams); `client` closes when serving it throws.
  void dispatch(std::shared_ptr<filters::responder> to, filters::request_context request, connection &client);
  /// Answers a request the reader refused through the chain's way out.
  void refuse(std::shared_ptr<filters::responder> to, filters::request_context request, const http::refusal &why);

 private:
  class acceptor;

  [[nodiscard]] std::optional<loop::clock::time_point> next_deadline() const override;
  void on_round(loop::clock::time_point now) override;
  void on_stop() override;
  void accept_ready();
  /// Makes room at the connection cap: closes this loop's oldest connection that has not sent a byte
  /// (on TLS: whose handshake, or first request, has not come; nothing is lost: it asked for nothing yet). False when
  /// it has none. A client between requests on a kept-alive connection is not closed for it: it already asked and may
  /// be asking again.
  bool evict_idle();
  /// Admits one connection past the cap by evicting: again when another loop's new connection took
  /// the room first (evictions on two loops race for the slots they free). False when this loop
  /// has nothing left to evict.
  bool admit_by_evicting();
  /// A connection past the cap this loop cannot make room for: to the next loop, which evicts among
  /// its own (`hops` loops tried already; refused after max_hand_over_hops, or with no other loop).
  void pass_on(io::unique_fd socket, int hops);
  /// A handed-over socket that was never opened leaves the counts.
  void forget_unopened() noexcept;
  void close_all();

  data_plane &plane_;
  client::upstream_loop &upstream_;
  http::request_limits limits_;
  std::unique_ptr<std::array<char, 64 * 1024>> scratch_;
  std::unique_ptr<acceptor> acceptor_;
  int listen_fd_ = -1;
  bool accepting_ = false;
  bool draining_ = false;
  bool hooked_ = false;
  std::optional<loop::clock::time_point> resume_accepting_at_;  // after running out of descriptors
  std::unordered_set<connection *> open_;
  std::atomic<std::size_t> load_{0};
};

}  // namespace agg::front
