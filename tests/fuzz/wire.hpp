#pragma once

// Bytes to a server on 127.0.0.1 and what it answered, for the fuzz targets that go through a real
// listener; and a check that the answer is a sequence of well-formed HTTP/1.1 responses.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "aggregator/io/unique_fd.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/support/content_decoding.hpp"
#include "tests/support/response_reader.hpp"

namespace agg::fuzz {

/// What follows an input's bytes: ends a head the input left open, then asks for the close, so the
/// exchange ends when the server has answered everything.
inline constexpr std::string_view closing_request =
    "\r\n\r\nGET /health HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n";

/// Waits up to `quiet` for `events` on `fd`, through the signals libFuzzer's timer sends (EINTR).
inline bool wait_for(int fd, short events, std::chrono::milliseconds quiet) {
  pollfd p{fd, events, 0};
  const auto until = std::chrono::steady_clock::now() + quiet;
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    const int n = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, left.count())));
    if (n >= 0) return n == 1;
    if (errno != EINTR) return false;
  }
}

/// Sends `bytes` then `closing` to 127.0.0.1:port on a new connection and reads until the server
/// closes it or has said nothing for `quiet` (a server waiting for the rest of a request).
inline std::string exchange(std::uint16_t port, std::string_view bytes, std::string_view closing,
                            std::chrono::milliseconds quiet) {
  const io::unique_fd fd{::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Closed with a reset: a run makes millions of connections, and TIME_WAIT would hold every
  // ephemeral port within a minute (connect then fails with EADDRNOTAVAIL).
  const linger abortive{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
  int error = 0;
  socklen_t length = sizeof error;
  if ((::connect(fd.get(), reinterpret_cast<const sockaddr *>(&addr), sizeof addr) != 0 && errno != EINPROGRESS &&
       errno != EINTR) ||
      !wait_for(fd.get(), POLLOUT, quiet) || ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0 ||
      error != 0) {
    std::fprintf(stderr, "connect to port %u: %s\n", port, std::strerror(error != 0 ? error : errno));
    return {};
  }
  std::string out{bytes};
  out += closing;
  for (std::size_t sent = 0; sent < out.size();) {
    const ssize_t n = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      if (!wait_for(fd.get(), POLLOUT, quiet)) break;
    } else {
      break;  // the server closed early (it refused the request): read what it said
    }
  }
  std::string reply;
  char buffer[16384];
  while (wait_for(fd.get(), POLLIN, quiet)) {
    const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n > 0)
      reply.append(buffer, static_cast<std::size_t>(n));
    else if (n == 0 || (errno != EINTR && errno != EAGAIN))
      break;
  }
  return reply;
}

/// Descriptors this process has open: what a health check that failed reports beside itself.
inline std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto &entry : std::filesystem::directory_iterator{"/proc/self/fd"}) ++n;
  return n;
}

/// Aborts unless a new connection's GET /health on `port` answers 200: whatever the input did, the
/// server still serves the next client.
inline void check_still_serving(std::uint16_t port) {
  const std::string health = exchange(port, "GET /health HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n", {},
                                      std::chrono::milliseconds{5000});
  if (!health.starts_with("HTTP/1.1 200"))
    std::fprintf(stderr, "no 200 for /health (%zu descriptors open): %s\n", open_descriptors(), health.c_str());
  AGG_FUZZ_CHECK(health.starts_with("HTTP/1.1 200"));
}

/// Aborts unless `reply` is HTTP/1.1 responses one after another (the last may be cut off by
/// the read's end) whose JSON bodies parse: what every answer of the service must be.
inline void check_responses(const std::string &reply) {
  std::string_view rest = reply;
  while (!rest.empty()) {
    const testing::response_read read = testing::read_response_at(rest);
    if (read.error)
      std::fprintf(stderr, "not an HTTP response (%s): %.*s\n", read.error.message().c_str(),
                   static_cast<int>(std::min<std::size_t>(rest.size(), 400)), rest.data());
    AGG_FUZZ_CHECK(!read.error);
    if (read.used == 0) return;  // cut off by the end of the read: nothing to judge
    const auto &response = read.message;
    AGG_FUZZ_CHECK(response.version() == 11);
    if (response[boost::beast::http::field::content_type] == "application/json") {
      // A compressed answer is judged by what it decodes to (and must decode).
      const auto body = testing::decoded_body(response[boost::beast::http::field::content_encoding], response.body());
      AGG_FUZZ_CHECK(body.has_value());
      boost::system::error_code json_error;
      boost::json::parse(*body, json_error);
      if (json_error) std::fprintf(stderr, "a JSON answer that is not JSON: %s\n", response.body().c_str());
      AGG_FUZZ_CHECK(!json_error);
    }
    rest.remove_prefix(read.used);
  }
}

}  // namespace agg::fuzz
