#pragma once

// Bytes to a server on 127.0.0.1 and what it answered, for the fuzz targets that go through a real
// listener; and a check that the answer is a sequence of well-formed HTTP/1.1 responses.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "aggregator/io/unique_fd.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace agg::fuzz {

/// Sends `bytes` then `closing` to 127.0.0.1:port on a new connection and reads until the server
/// closes it or has said nothing for `quiet` (a server waiting for the rest of a request).
inline std::string exchange(std::uint16_t port, std::string_view bytes, std::string_view closing,
                            std::chrono::milliseconds quiet) {
  const io::unique_fd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr *>(&addr), sizeof addr) != 0) return {};
  timeval bound{static_cast<time_t>(quiet.count() / 1000), static_cast<suseconds_t>(quiet.count() % 1000 * 1000)};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound);
  std::string out{bytes};
  out += closing;
  for (std::size_t sent = 0; sent < out.size();) {
    const ssize_t n = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server closed early (it refused the request): read what it said
    sent += static_cast<std::size_t>(n);
  }
  std::string reply;
  char buffer[16384];
  ssize_t n = 0;
  while ((n = ::recv(fd.get(), buffer, sizeof buffer, 0)) > 0) reply.append(buffer, static_cast<std::size_t>(n));
  return reply;
}

/// Aborts unless `reply` is HTTP/1.1 responses one after another (the last may be cut off by
/// the read's end) whose JSON bodies parse: what every answer of the service must be.
inline void check_responses(const std::string &reply) {
  namespace http = boost::beast::http;
  std::string_view rest = reply;
  while (!rest.empty()) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    parser.eager(true);
    boost::beast::error_code ec;
    std::size_t used = 0;
    while (!parser.is_done()) {
      const std::size_t n = parser.put(boost::asio::buffer(rest.data() + used, rest.size() - used), ec);
      used += n;
      if (ec == http::error::need_more && used < rest.size()) continue;
      if (ec == http::error::need_more) return;  // cut off by the end of the read: nothing to judge
      if (ec)
        std::fprintf(stderr, "not an HTTP response (%s): %.*s\n", ec.message().c_str(),
                     static_cast<int>(std::min<std::size_t>(rest.size(), 400)), rest.data());
      AGG_FUZZ_CHECK(!ec);
      if (n == 0) return;
    }
    const auto &response = parser.get();
    AGG_FUZZ_CHECK(response.version() == 11);
    if (response[http::field::content_type] == "application/json") {
      boost::system::error_code json_error;
      boost::json::parse(response.body(), json_error);
      if (json_error) std::fprintf(stderr, "a JSON answer that is not JSON: %s\n", response.body().c_str());
      AGG_FUZZ_CHECK(!json_error);
    }
    rest.remove_prefix(used);
  }
}

}  // namespace agg::fuzz
