#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "upstream/upstream_server.hpp"

namespace upstream {

class session;

/// What the upstream's sessions share: the io_context every one runs on, the listener, the counters,
/// the barriers and the per-key call counts. Touched on the io thread only, but for the counters.
struct detail::server_state {
  // Counters first: sessions still owned by pending handlers update them while `io` is destroyed.
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> in_flight{0};
  std::atomic<std::uint64_t> max_in_flight{0};
  std::atomic<std::uint64_t> tls_handshakes{0};
  std::atomic<std::uint64_t> tls_resumed{0};
  std::atomic<std::uint64_t> connections_open{0};

  upstream_options options;
  std::optional<boost::asio::ssl::context> tls;  ///< set when it serves HTTPS
  boost::asio::io_context io{1};
  boost::asio::ip::tcp::acceptor acceptor{io};
  boost::asio::steady_timer accept_retry{io};
  std::map<std::size_t, std::vector<std::shared_ptr<session>>> barriers;  // io thread only
  std::map<std::string, std::uint64_t, std::less<>> calls_by_key;         // io thread only: `key=` counters
  std::thread thread;

  void accept();
  void note_request_started() {
    requests.fetch_add(1, std::memory_order_relaxed);
    const auto now = in_flight.fetch_add(1, std::memory_order_relaxed) + 1;
    if (now > max_in_flight.load(std::memory_order_relaxed)) max_in_flight.store(now, std::memory_order_relaxed);
  }
};

}  // namespace upstream
