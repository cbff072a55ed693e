#include "aggregator/control/client_connection.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>

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

}  // namespace

ssize_t client_connection::receive(char *buffer, std::size_t size, clock::time_point deadline) const {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
  if (!wait_for(fd_, stop_fd_, POLLIN, left)) return -1;
  ssize_t n = 0;
  do {
    n = ::recv(fd_, buffer, size, 0);
  } while (n < 0 && errno == EINTR);
  return n;
}

bool client_connection::send_all(std::string_view bytes) const {
  while (!bytes.empty()) {
    if (!wait_for(fd_, -1, POLLOUT, write_timeout_)) return false;
    ssize_t n = 0;
    do {
      n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace agg::control
