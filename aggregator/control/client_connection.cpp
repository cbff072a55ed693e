#include "aggregator/control/client_connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace agg::control {

namespace {

/// poll() on the socket and the stop descriptor, retried on EINTR; true when `events` became ready
/// on the socket before `timeout` and no stop was signalled.
bool wait_for(int fd, int stop_fd, short events, std::chrono::milliseconds timeout) {
  std::array<pollfd, 2> p{pollfd{fd, events, 0}, pollfd{stop_fd, POLLIN, 0}};
  for (;;) {
    const int n = ::poll(p.data(), stop_fd < 0 ? 1 : 2, static_cast<int>(std::max<long>(0, timeout.count())));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || p[1].revents != 0) return false;
    return (p[0].revents & (events | POLLHUP | POLLERR)) != 0;
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
  if (!wait_for(fd_, stop_fd_, POLLIN, idle)) return false;
  // Readable with nothing to read means the client closed between requests.
  char byte = 0;
  return ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

ssize_t client_connection::receive(char *buffer, std::size_t size, clock::time_point deadline) const {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
  if (!wait_for(fd_, stop_fd_, POLLIN, left)) return -1;
  ssize_t n = 0;
  do {
    n = ::recv(fd_, buffer, size, 0);
  } while (n < 0 && errno == EINTR);
  return n;
}

bool client_connection::send_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = write(bytes.data(), bytes.size());
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool client_connection::is_writable() const { return wait_for(fd_, -1, POLLOUT, write_timeout_); }

ssize_t client_connection::read(char *ptr, size_t size) {
  const std::size_t count = std::min(size, replay_.size() - replayed_);
  std::memcpy(ptr, replay_.data() + replayed_, count);
  replayed_ += count;
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

}  // namespace agg::control
