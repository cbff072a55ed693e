#pragma once

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "upstream/upstream_server.hpp"

namespace agg::testing {

/// The bundled upstream, in process on 127.0.0.1 and a free port, serving on its own thread.
class local_upstream {
 public:
  explicit local_upstream(std::chrono::milliseconds delay = std::chrono::milliseconds{0})
      : local_upstream(upstream::upstream_options{"127.0.0.1", 0, delay}) {}
  /// With `options.port` 0 whatever it says (a test never takes a fixed port); HTTPS with its TLS files.
  explicit local_upstream(upstream::upstream_options options)
      : https_(!options.tls_cert.empty()), server_((options.port = 0, options)) {
    server_.start();
  }

  [[nodiscard]] std::uint16_t port() const noexcept { return server_.port(); }
  [[nodiscard]] std::string base() const {
    return (https_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(server_.port());
  }
  /// `/api/?<query>` on this upstream.
  [[nodiscard]] std::string api(std::string_view query) const { return base() + "/api/?" + std::string{query}; }
  [[nodiscard]] upstream::upstream_stats stats() const { return server_.stats(); }
  /// How many calls reached it with `key=` (its `/calls`); -1 when it could not be asked.
  [[nodiscard]] long calls(const std::string &key) const {
    httplib::Client c{"127.0.0.1", port()};
    const auto r = c.Get("/calls?key=" + key);
    return r ? static_cast<long>(boost::json::parse(r->body).at("calls").as_int64()) : -1;
  }

 private:
  bool https_;
  upstream::upstream_server server_;
};

/// A loopback port with no listener: bound, then closed again, so connecting is refused at once.
inline std::uint16_t refused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace agg::testing
