#include "aggregator/io/peer_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>

namespace agg::io {

std::string peer_address(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getpeername(fd, reinterpret_cast<sockaddr *>(&address), &length) != 0) return "unknown";
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (address.ss_family == AF_INET) {
    const auto *v4 = reinterpret_cast<const sockaddr_in *>(&address);
    if (::inet_ntop(AF_INET, &v4->sin_addr, text.data(), text.size()) != nullptr) return text.data();
  } else if (address.ss_family == AF_INET6) {
    const auto *v6 = reinterpret_cast<const sockaddr_in6 *>(&address);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {  // ::ffff:a.b.c.d is the IPv4 client a.b.c.d
      in_addr v4{};
      std::memcpy(&v4, &v6->sin6_addr.s6_addr[12], sizeof v4);
      if (::inet_ntop(AF_INET, &v4, text.data(), text.size()) != nullptr) return text.data();
    } else if (::inet_ntop(AF_INET6, &v6->sin6_addr, text.data(), text.size()) != nullptr) {
      return text.data();
    }
  }
  return "unknown";
}

bool has_unread_bytes(int fd) noexcept {
  char byte = 0;
  return ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

}  // namespace agg::io
