#include "aggregator/front/listening_socket.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "aggregator/config/load_config.hpp"

namespace agg::front {

namespace {

/// A connection that has sent nothing stays with the kernel this long (nginx's `deferred`): a flood
/// of empty connections neither wakes the loops nor fills server.max_connections, and a client that
/// speaks is accepted at once. Past it the kernel hands the connection over anyway (it may be a
/// client that is slow to speak), and the first-byte deadline and the cap's evictions take over.
constexpr int defer_accept_seconds = 1;

std::runtime_error cannot_listen(const std::string &host, std::uint16_t port, int error) {
  const std::string why = error == EADDRINUSE      ? "address in use"
                          : error == EADDRNOTAVAIL ? "not an address of this machine"
                                                   : std::strerror(error);
  return std::runtime_error("cannot listen on " + config::address_text(host, port) + " (" + why + ")");
}

}  // namespace

listening_socket::listening_socket(const std::string &host, std::uint16_t port, int backlog) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo *found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    throw std::runtime_error("cannot listen on " + config::address_text(host, port) + " (" + ::gai_strerror(rc) + ")");
  int error = EADDRNOTAVAIL;
  for (const addrinfo *a = found; a != nullptr && fd_.get() < 0; a = a->ai_next) {
    io::unique_fd candidate{::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol)};
    const int yes = 1;
    if (candidate.get() < 0 || ::setsockopt(candidate.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) != 0 ||
        ::bind(candidate.get(), a->ai_addr, a->ai_addrlen) != 0 || ::listen(candidate.get(), backlog) != 0) {
      error = errno;
      continue;
    }
    if (::setsockopt(candidate.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_accept_seconds,
                     sizeof defer_accept_seconds) != 0) {
      error = errno;
      continue;
    }
    fd_ = std::move(candidate);
  }
  ::freeaddrinfo(found);
  if (fd_.get() < 0) throw cannot_listen(host, port, error);
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  if (::getsockname(fd_.get(), reinterpret_cast<sockaddr *>(&bound), &length) != 0)
    throw cannot_listen(host, port, errno);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6 &>(bound).sin6_port
                                            : reinterpret_cast<const sockaddr_in &>(bound).sin_port);
}

void listening_socket::shut_down() const noexcept { ::shutdown(fd_.get(), SHUT_RDWR); }

}  // namespace agg::front
