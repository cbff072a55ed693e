#include "aggregator/front/tls_stream.hpp"

#include <openssl/err.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>

namespace agg::front {

namespace {

/// What SSL_read and SSL_write take at once.
int capped(std::size_t size) noexcept { return static_cast<int>(std::min<std::size_t>(size, INT_MAX)); }

}  // namespace

bool tls_stream::chose_h2() const noexcept {
  const unsigned char *chosen = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(session_.get(), &chosen, &length);
  return length == 2 && chosen[0] == 'h' && chosen[1] == '2';
}

tls_stream::step tls_stream::handshake() {
  ERR_clear_error();
  const int done = SSL_do_handshake(session_.get());
  if (done == 1) return step::done;
  const int why = SSL_get_error(session_.get(), done);
  if (why == SSL_ERROR_WANT_READ) return step::wants_read;
  if (why == SSL_ERROR_WANT_WRITE) return step::wants_write;
  // Not TLS, a version or cipher refused, a client certificate that did not verify, or gone.
  ERR_clear_error();
  broken_ = true;
  return step::failed;
}

std::optional<std::size_t> tls_stream::read(std::span<char> buffer) {
  ERR_clear_error();
  const int n = SSL_read(session_.get(), buffer.data(), capped(buffer.size()));
  if (n > 0) return static_cast<std::size_t>(n);
  switch (SSL_get_error(session_.get(), n)) {
    case SSL_ERROR_WANT_READ: return std::nullopt;
    case SSL_ERROR_WANT_WRITE: write_first_ = true; return std::nullopt;
    case SSL_ERROR_ZERO_RETURN: return 0;  // the client's close_notify
    default:
      ERR_clear_error();
      broken_ = true;  // a reset, or a TLS error: nothing more comes
      return 0;
  }
}

std::optional<std::size_t> tls_stream::write(std::string_view first, std::string_view second) {
  // A head and the start of its body go as one record (one system call): a small answer is one.
  constexpr std::size_t record = 16 * 1024;
  thread_local std::array<char, record> joined;
  std::array<std::string_view, 2> parts{first, second};
  if (!first.empty() && !second.empty() && first.size() < record / 4) {
    const std::size_t taken = std::min(second.size(), record - first.size());
    std::memcpy(joined.data(), first.data(), first.size());
    std::memcpy(joined.data() + first.size(), second.data(), taken);
    parts = {std::string_view{joined.data(), first.size() + taken}, second.substr(taken)};
  }
  std::size_t sent = 0;
  for (std::string_view part : parts) {
    while (!part.empty()) {
      ERR_clear_error();
      const int n = SSL_write(session_.get(), part.data(), capped(part.size()));
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        part.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      const int why = SSL_get_error(session_.get(), n);
      if (why == SSL_ERROR_WANT_WRITE || why == SSL_ERROR_WANT_READ) return sent;
      ERR_clear_error();
      broken_ = true;
      return std::nullopt;
    }
  }
  return sent;
}

void tls_stream::notify_close() noexcept {
  SSL *ssl = session_.get();
  if (broken_ || SSL_is_init_finished(ssl) != 1 || (SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) != 0) return;
  ERR_clear_error();
  static_cast<void>(SSL_shutdown(ssl));  // best effort: the client may have gone
  ERR_clear_error();
}

}  // namespace agg::front
