#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "aggregator/front/server_tls.hpp"

namespace agg::front {

/// A client connection's TLS session on its non-blocking socket: the handshake, reads and writes as
/// the socket takes them, and close_notify. It says what it waits for; the connection watches the
/// socket for it. Loop thread.
class tls_stream {
 public:
  explicit tls_stream(ssl_session session) noexcept : session_(std::move(session)) {}

  /// How far a handshake step got.
  enum class step { done, wants_read, wants_write, failed };
  /// Goes on with the handshake as far as the socket allows.
  step handshake();
  /// After the handshake: whether it resumed a session, and the verified client certificate's
  /// subject (RFC 2253; empty without one).
  [[nodiscard]] bool resumed() const noexcept { return SSL_session_reused(session_.get()) == 1; }
  [[nodiscard]] std::string peer_subject() const { return verified_peer_subject(session_.get()); }
  /// After the handshake: ALPN chose `h2`.
  [[nodiscard]] bool chose_h2() const noexcept;

  /// Reads decrypted bytes into `buffer`: how many (> 0), 0 at the end of the client's data (its
  /// close_notify, a reset, a TLS error), nullopt when nothing waits now (then write_first() says
  /// whether the read waits for the socket to take bytes, not to bring some).
  std::optional<std::size_t> read(std::span<char> buffer);
  /// Sends what the socket takes of `first` then `second`: how many bytes (0: none now), or nullopt
  /// when the connection is broken. What was not taken must come first in the next call (the
  /// bytes, not the buffer: SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
  std::optional<std::size_t> write(std::string_view first, std::string_view second);
  /// Sends close_notify, once, when the session is up and not broken.
  void notify_close() noexcept;

  /// A read must send first (a key update's answer) and the socket is full: watch for writable.
  [[nodiscard]] bool write_first() const noexcept { return write_first_; }
  void socket_writable() noexcept { write_first_ = false; }

 private:
  ssl_session session_;
  bool write_first_ = false;
  bool broken_ = false;  // a TLS error or reset: no close_notify may follow
};

}  // namespace agg::front
