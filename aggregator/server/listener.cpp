#include "aggregator/server/listener.hpp"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>

#include "aggregator/server/client_connection.hpp"
#include "aggregator/server/request_context.hpp"

namespace agg::server {

namespace {

std::chrono::milliseconds millis(time_t sec, time_t usec) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::seconds{sec} +
                                                               std::chrono::microseconds{usec});
}

}  // namespace

listener::listener() : stop_fd_(io::unique_fd::checked(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd")) {}

bool listener::raise_backlog(int backlog) const { return ::listen(svr_sock_, backlog) == 0; }

void listener::halt() {
  const std::uint64_t one = 1;
  if (::write(stop_fd_.get(), &one, sizeof one) < 0) std::perror("aggregator: eventfd write");
  stop();
  if (const auto fd = svr_sock_.load(); fd != INVALID_SOCKET) ::shutdown(fd, SHUT_RDWR);
}

// Replaces cpp-httplib's per-connection loop: same keep-alive rules, same request processing.
bool listener::process_and_close_socket(socket_t sock) {
  open_connections_.fetch_add(1, std::memory_order_relaxed);
  client_connection connection{sock, stop_fd_.get(), millis(read_timeout_sec_, read_timeout_usec_),
                               millis(write_timeout_sec_, write_timeout_usec_)};
  bool ok = false;
  for (std::size_t left = keep_alive_max_count_;
       left > 0 && svr_sock_ != INVALID_SOCKET &&
       connection.wait_for_request(std::chrono::seconds{keep_alive_timeout_sec_});
       --left) {
    current_request().begin(&connection);
    bool closed = false;
    ok = process_request(connection, left == 1, closed, nullptr);
    if (!ok || closed) break;
  }
  current_request().connection = nullptr;
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  open_connections_.fetch_sub(1, std::memory_order_relaxed);
  return ok;
}

}  // namespace agg::server
