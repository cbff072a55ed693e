#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace upstream {

namespace detail {
struct server_state;  // Asio stays out of this header: it is heavy to compile
}  // namespace detail

/// Where the demo upstream listens, how long it waits before answering, and whether it serves
/// HTTPS (with a certificate and key, PEM files) and asks clients for certificates a CA signed.
struct upstream_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 9008;  ///< 0 picks a free port
  std::chrono::milliseconds delay{1000};
  std::string tls_cert;       ///< its certificate chain: HTTPS instead of HTTP when set
  std::string tls_key;        ///< the certificate's private key
  std::string tls_client_ca;  ///< when set: only clients with a certificate this CA signed get in
};

/// Counters for tests and benchmarks; read from any thread.
struct upstream_stats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t requests = 0;
  std::uint64_t in_flight = 0;
  std::uint64_t max_in_flight = 0;
  std::uint64_t tls_handshakes = 0;    ///< completed (HTTPS only): one per new connection, none per reused one
  std::uint64_t tls_resumed = 0;       ///< of those, the ones that resumed an earlier session (abbreviated)
  std::uint64_t connections_open = 0;  ///< accepted and not yet closed (by either side)
};

/// The demo and benchmark upstream: `GET /api/?task_id=K` answers
/// `{"message":"Hello World","task_id":"K"}` after the delay. Per request: `delay_ms=N` overrides
/// the delay; `barrier=N` holds the request until N such requests wait, then releases them all;
/// `status=N` answers with that status; `fault=` injects reset_before_headers, reset_after_headers,
/// endless_body, garbage (not JSON), oversized (`size=` bytes), or stall (part of a body, then
/// silence). Deterministic failures and slowness count the calls made with the same `key=K` (any
/// text; absent is a key too): the first `fail_first=N` calls, and every `fail_every=M`-th, answer
/// `fail_status` (503), with `Retry-After: S` when `retry_after=S` is given; the first
/// `slow_first=N` calls and every `slow_every=K`-th wait `slow_ms` (1000) instead of the delay;
/// `cache_control=V` sends `Cache-Control: V`; `encoding=gzip` gzips the body. `GET /calls?key=K` answers
/// `{"key":K,"calls":n}`. Fixture APIs to compose (`/users/{id}`, `/users/{id}/orders`, `/orders/{id}`,
/// `/products/{id}`,
/// `/products?ids=a,b`: see fixtures.hpp) take the same parameters. `/echo` answers with what
/// reached it: method, target, headers and body.
/// `GET /health` answers at once. One event-driven thread (Boost.Asio) serves every connection, so
/// thousands of delayed requests cost timers, not threads. With `tls_cert` the same over HTTPS.
class upstream_server {
 public:
  /// Binds and listens at once; throws std::system_error when the address is unavailable or the
  /// TLS files cannot be used.
  explicit upstream_server(const upstream_options &options);
  upstream_server(const upstream_server &) = delete;
  upstream_server &operator=(const upstream_server &) = delete;
  /// Stops serving and joins the background thread, if start() made one.
  ~upstream_server();

  [[nodiscard]] std::uint16_t port() const noexcept;
  /// Serves on the calling thread until stop().
  void run();
  /// Serves on a thread of its own until stop() or destruction.
  void start();
  /// Closes the listener and every connection; any thread.
  void stop();
  [[nodiscard]] upstream_stats stats() const noexcept;
  /// CPU time used by the thread start() made (zero without one): lets an in-process benchmark
  /// subtract the upstream's share from the process's CPU time.
  [[nodiscard]] std::chrono::nanoseconds cpu_time() const noexcept;

 private:
  std::shared_ptr<detail::server_state> state_;
};

}  // namespace upstream
