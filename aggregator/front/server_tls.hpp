#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "aggregator/config/service_config.hpp"
#include "aggregator/io/unique_handle.hpp"

namespace agg::front {

using ssl_context = io::unique_handle<SSL_CTX, SSL_CTX_free>;
using ssl_session = io::unique_handle<SSL, SSL_free>;

/// Why `server.tls`'s files cannot serve: the key that names the culprit (`cert_file`, `key_file`,
/// `client_ca_file`) and what is wrong with it, OpenSSL's reason included.
struct tls_problem {
  std::string key;
  std::string reason;
};

/// An OpenSSL server context from `server.tls`: the certificate chain and its key (checked to match),
/// TLS 1.2 or 1.3 at least, no renegotiation, session resumption by ticket and by cache, ALPN
/// `h2` (with `offer_h2`) then `http/1.1`, and with `client_ca_file` client certificates asked for and verified (a
/// client may present none; one that does not verify fails the handshake).
std::variant<ssl_context, tls_problem> make_server_context(const config::server_tls_config &tls, bool offer_h2 = false);

/// How handshakes ended, since start.
struct handshake_counts {
  std::uint64_t full = 0;
  std::uint64_t resumed = 0;
  std::uint64_t failed = 0;     ///< not TLS, a protocol or version refused, a client certificate that did not verify
  std::uint64_t timed_out = 0;  ///< not finished within server.tls.handshake_timeout_ms
};

/// The data plane's TLS: the context in force, from which each accepted connection takes its
/// session, and its reload (SIGHUP): the files are read again into a new context that replaces the
/// old one for new connections, while open connections keep the one they started with (a session
/// holds a reference to its context). Files that do not serve leave the old context in force.
/// Thread-safe.
class server_tls {
 public:
  /// Throws std::runtime_error naming the key and the reason when the files do not serve (the
  /// config was checked at start, so this is a file changed since).
  /// `offer_h2`: ALPN chooses `h2` when a client offers it (server.http2.enabled).
  server_tls(const config::server_tls_config &settings, bool offer_h2);

  /// A server-side session for an accepted socket, on the context in force. Throws when OpenSSL
  /// cannot make one (out of memory).
  [[nodiscard]] ssl_session new_session(int fd) const;
  /// Reads the files again: nullopt when the new pair is in force, else why not (the old one stays).
  std::optional<std::string> reload();

  [[nodiscard]] const config::server_tls_config &settings() const noexcept { return settings_; }
  /// When the certificate in force expires, in seconds since the epoch (0: unknown).
  [[nodiscard]] std::int64_t not_after() const noexcept { return not_after_.load(std::memory_order_relaxed); }

  enum class outcome { full, resumed, failed, timed_out };
  void count(outcome what) noexcept;
  [[nodiscard]] handshake_counts counts() const noexcept;

 private:
  config::server_tls_config settings_;
  bool offer_h2_;
  mutable std::mutex mutex_;
  ssl_context context_;  // guarded by mutex_ (replaced whole on reload)
  std::atomic<std::int64_t> not_after_{0};
  std::atomic<std::uint64_t> full_{0};
  std::atomic<std::uint64_t> resumed_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> timed_out_{0};
};

/// The subject of the certificate `ssl`'s peer presented and the handshake verified, in RFC 2253
/// form (`CN=reports,O=Example`); empty when it presented none.
std::string verified_peer_subject(SSL *ssl);

}  // namespace agg::front
