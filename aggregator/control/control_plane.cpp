#include "aggregator/control/control_plane.hpp"

#include <memory>
#include <stdexcept>
#include <string>

#include "aggregator/config/load_config.hpp"

namespace agg::control {

control_plane::control_plane(const config::server_config &server, const filters::filter_chain &chain)
    : server_(server), listener_(http::request_limits{}, chain, server.threads, server.admin_max_connections) {
  listener_.set_tcp_nodelay(true);  // without it every keep-alive answer waits ~40 ms (Nagle)
  listener_.set_keep_alive_max_count(10'000);
  listener_.set_keep_alive_timeout(30);
}

std::uint16_t control_plane::bind() {
  int port = server_.admin_port;
  if (port == 0) {
    port = listener_.bind_to_any_port(server_.admin_host);
  } else if (!listener_.bind_to_port(server_.admin_host, port)) {
    port = -1;
  }
  if (port <= 0)
    throw std::runtime_error("cannot listen on " + config::address_text(server_.admin_host, server_.admin_port) +
                             " for the control plane (address in use, or not an address of this machine)");
  if (!listener_.raise_backlog(server_.backlog))
    throw std::runtime_error("cannot listen with a backlog of " + std::to_string(server_.backlog) +
                             " for the control plane");
  return static_cast<std::uint16_t>(port);
}

bool control_plane::run() { return listener_.listen_after_bind(); }

void control_plane::stop() { listener_.halt(); }

}  // namespace agg::control
