#include "aggregator/server/client_connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace agg::server {

namespace {

/// poll() on one descriptor, retried on EINTR; true when `events` became ready.
bool wait_for(int fd, short events, std::chrono::milliseconds timeout) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (n < 0 && errno == EINTR) continue;
    return n > 0 && (p.revents & (events | POLLHUP | POLLERR)) != 0;
  }
}

void address_of(const sockaddr_storage &addr, std::string &ip, int &port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto &in = reinterpret_cast<const sockaddr_in &>(addr);
    ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    port = ntohs(in.sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto &in6 = reinterpret_cast<const sockaddr_in6 &>(addr);
    ::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    port = ntohs(in6.sin6_port);
  }
  ip = text;
}

}  // namespace

bool client_connection::wait_for_request(std::chrono::milliseconds idle) const {
  if (buffered_begin_ < buffered_end_) return true;  // a pipelined request is already here
  std::array<pollfd, 2> p{pollfd{fd_, POLLIN, 0}, pollfd{stop_fd_, POLLIN, 0}};
  for (;;) {
    const int n = ::poll(p.data(), p.size(), static_cast<int>(idle.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || p[1].revents != 0) return false;
    if ((p[0].revents & POLLIN) == 0) return false;
    // Readable with nothing to read means the client closed between requests.
    char byte = 0;
    return ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
  }
}

bool client_connection::is_readable() const {
  return buffered_begin_ < buffered_end_ || wait_for(fd_, POLLIN, read_timeout_);
}

bool client_connection::is_writable() const { return wait_for(fd_, POLLOUT, write_timeout_); }

ssize_t client_connection::read(char *ptr, size_t size) {
  if (buffered_begin_ == buffered_end_) {
    if (!wait_for(fd_, POLLIN, read_timeout_)) return -1;
    ssize_t n = 0;
    do {
      n = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return n;
    buffered_begin_ = 0;
    buffered_end_ = static_cast<std::size_t>(n);
  }
  const std::size_t count = std::min(size, buffered_end_ - buffered_begin_);
  std::memcpy(ptr, buffer_.data() + buffered_begin_, count);
  buffered_begin_ += count;
  return static_cast<ssize_t>(count);
}

ssize_t client_connection::write(const char *ptr, size_t size) {
  if (!is_writable()) return -1;
  ssize_t n = 0;
  do {
    n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

void client_connection::get_remote_ip_and_port(std::string &ip, int &port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(fd_, reinterpret_cast<sockaddr *>(&addr), &len) == 0) address_of(addr, ip, port);
}

void client_connection::get_local_ip_and_port(std::string &ip, int &port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd_, reinterpret_cast<sockaddr *>(&addr), &len) == 0) address_of(addr, ip, port);
}

}  // namespace agg::server
