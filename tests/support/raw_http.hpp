#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace agg::testing {

/// How much of the server's answer raw_exchange waits for.
enum class read_until { first_response, server_closes };

/// Sends `request` bytes as they are to 127.0.0.1:port and returns the first response (head and
/// Content-Length body), or everything until the server closes: for requests no well-behaved
/// client would send. (cpp-httplib 0.11.4 answers nothing to a client that half-closes, so the
/// connection stays open; a 10 s receive timeout bounds the wait.)
inline std::string raw_exchange(std::uint16_t port, const std::string &request,
                                read_until until = read_until::first_response) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval bound{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    ssize_t n = 0;
    while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) {
      reply.append(buffer, static_cast<std::size_t>(n));
      if (until == read_until::server_closes) continue;
      const auto head_end = reply.find("\r\n\r\n");
      if (head_end == std::string::npos) continue;
      const auto length_at = reply.find("Content-Length: ");
      const std::size_t length = length_at < head_end ? std::strtoul(reply.c_str() + length_at + 16, nullptr, 10) : 0;
      if (reply.size() >= head_end + 4 + length) break;
    }
  }
  ::close(fd);
  return reply;
}

/// What a server sent on one connection until it closed it.
struct raw_reply {
  std::string bytes;
  bool closed_by_server = false;  ///< false when the 10 s receive bound ran out first
};

/// Sends `request` bytes as they are and reads until the server closes the connection.
inline raw_reply raw_until_close(std::uint16_t port, const std::string &request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval bound{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  raw_reply reply;
  if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    ssize_t n = 0;
    while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) reply.bytes.append(buffer, static_cast<std::size_t>(n));
    reply.closed_by_server = n == 0;
  }
  ::close(fd);
  return reply;
}

/// The status codes of the HTTP responses in `bytes`, in order (a body may run straight into the
/// next status line when responses are pipelined).
inline std::vector<int> statuses_in(const std::string &bytes) {
  std::vector<int> statuses;
  for (std::size_t at = bytes.find("HTTP/1.1 "); at != std::string::npos; at = bytes.find("HTTP/1.1 ", at + 1)) {
    const std::string code = bytes.substr(at + 9, 3);
    if (code.size() == 3 && std::isdigit(static_cast<unsigned char>(code[0])) &&
        std::isdigit(static_cast<unsigned char>(code[1])) && std::isdigit(static_cast<unsigned char>(code[2])))
      statuses.push_back(std::stoi(code));
  }
  return statuses;
}

}  // namespace agg::testing
