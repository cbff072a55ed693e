#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/response_reader.hpp"

namespace agg::testing {

/// What a server sent on one connection until it closed it.
struct raw_reply {
  std::string bytes;
  bool closed_by_server = false;  ///< false when the 10 s receive bound ran out first
};

/// One client connection as raw bytes, for clients no library would be: idle ones, drip-fed heads,
/// readers that never read. Closed on destruction.
class raw_connection {
 public:
  /// Connects to 127.0.0.1:port; `receive_buffer` > 0 shrinks the socket's receive buffer first;
  /// `from` (another loopback address, e.g. 127.0.0.2) is the address it connects from: another client.
  explicit raw_connection(std::uint16_t port, int receive_buffer = 0, const char *from = nullptr)
      : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    timeval bound{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
    if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    if (from != nullptr) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      if (::inet_pton(AF_INET, from, &local.sin_addr) != 1 ||
          ::bind(fd_, reinterpret_cast<sockaddr *>(&local), sizeof local) != 0)
        return;  // not connected
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
  }
  raw_connection(const raw_connection &) = delete;
  raw_connection &operator=(const raw_connection &) = delete;
  ~raw_connection() { ::close(fd_); }

  [[nodiscard]] bool connected() const noexcept { return connected_; }
  /// Sends all of `bytes`; false when the connection no longer takes them.
  bool send(const std::string &bytes) const {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  /// True when a byte (or the end) can be read within `wait`.
  [[nodiscard]] bool readable_within(std::chrono::milliseconds wait) const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(wait.count())) > 0;
  }
  /// What one recv() gives (bytes, 0 at the end, -1 after the 10 s bound).
  ssize_t receive(char *into, std::size_t size) const { return ::recv(fd_, into, size, 0); }
  /// Everything until the server closes the connection (or 10 s pass without a byte).
  raw_reply read_until_close() const {
    raw_reply reply;
    char buffer[4096];
    ssize_t n = 0;
    while ((n = ::recv(fd_, buffer, sizeof buffer, 0)) > 0) reply.bytes.append(buffer, static_cast<std::size_t>(n));
    reply.closed_by_server = n == 0 || (n < 0 && errno == ECONNRESET);
    return reply;
  }
  /// The bytes of the first response (an interim 1xx counts), as they came.
  std::string read_response() const {
    std::string reply;
    char buffer[4096];
    ssize_t n = 0;
    while ((n = ::recv(fd_, buffer, sizeof buffer, 0)) > 0) {
      reply.append(buffer, static_cast<std::size_t>(n));
      if (read_response_at(reply).used != 0) break;
    }
    return reply;
  }

 private:
  int fd_;
  bool connected_ = false;
};

/// Sends `request` bytes as they are to 127.0.0.1:port and returns the first response (head and
/// Content-Length body): for requests no well-behaved client would send.
inline std::string raw_exchange(std::uint16_t port, const std::string &request) {
  const raw_connection c{port};
  return c.connected() && c.send(request) ? c.read_response() : std::string{};
}

/// Sends `request` bytes as they are and reads until the server closes the connection.
inline raw_reply raw_until_close(std::uint16_t port, const std::string &request) {
  const raw_connection c{port};
  return c.connected() && c.send(request) ? c.read_until_close() : raw_reply{};
}

/// The status codes of the HTTP responses in `bytes`, in order (pipelined answers one after another;
/// the last one's head is enough). `heads`: the places of the answers to HEAD requests, which have
/// no body (one that comes last needs no mention).
inline std::vector<int> statuses_in(std::string_view bytes, std::initializer_list<std::size_t> heads = {}) {
  std::vector<int> statuses;
  for (;;) {
    const bool to_head = std::find(heads.begin(), heads.end(), statuses.size()) != heads.end();
    const response_read read = read_response_at(bytes, to_head);
    if (read.head_done) statuses.push_back(read.message.result_int());
    if (read.used == 0) return statuses;
    bytes.remove_prefix(read.used);
  }
}

}  // namespace agg::testing
