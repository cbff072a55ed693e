#include "upstream/upstream_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <pthread.h>
#include <time.h>

#include "upstream/server_state.hpp"
#include "upstream/session.hpp"

namespace upstream {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

void detail::server_state::accept() {
  acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {  // out of descriptors, most likely: try again shortly instead of spinning
      accept_retry.expires_after(std::chrono::milliseconds{10});
      accept_retry.async_wait([this](boost::system::error_code wait_ec) {
        if (!wait_ec) accept();
      });
      return;
    }
    connections_accepted.fetch_add(1, std::memory_order_relaxed);
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<session>(*this, std::move(socket))->start();
    accept();
  });
}

upstream_server::upstream_server(const upstream_options &options) : state_(std::make_shared<detail::server_state>()) {
  state_->options = options;
  if (!options.tls_cert.empty()) {
    auto &tls = state_->tls.emplace(asio::ssl::context::tls_server);
    tls.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    tls.use_certificate_chain_file(options.tls_cert);
    tls.use_private_key_file(options.tls_key, asio::ssl::context::pem);
    if (!options.tls_client_ca.empty()) {  // mutual TLS: no connection without a certificate it signed
      tls.load_verify_file(options.tls_client_ca);
      tls.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    }
  }
  const tcp::endpoint endpoint{asio::ip::make_address(options.host), options.port};
  state_->acceptor.open(endpoint.protocol());
  state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  state_->acceptor.bind(endpoint);
  state_->acceptor.listen(asio::socket_base::max_listen_connections);
  state_->accept();
}

upstream_server::~upstream_server() {
  stop();
  if (state_->thread.joinable()) state_->thread.join();
  state_->barriers.clear();
}

std::uint16_t upstream_server::port() const noexcept {
  boost::system::error_code ec;
  return state_->acceptor.local_endpoint(ec).port();
}

void upstream_server::run() { state_->io.run(); }

void upstream_server::start() {
  state_->thread = std::thread([s = state_] { s->io.run(); });
}

void upstream_server::stop() { state_->io.stop(); }

std::chrono::nanoseconds upstream_server::cpu_time() const noexcept {
  if (!state_->thread.joinable()) return std::chrono::nanoseconds{0};
  clockid_t id{};
  timespec used{};
  if (pthread_getcpuclockid(state_->thread.native_handle(), &id) != 0 || clock_gettime(id, &used) != 0)
    return std::chrono::nanoseconds{0};
  return std::chrono::seconds{used.tv_sec} + std::chrono::nanoseconds{used.tv_nsec};
}

upstream_stats upstream_server::stats() const noexcept {
  return {state_->connections_accepted.load(std::memory_order_relaxed),
          state_->requests.load(std::memory_order_relaxed),
          state_->in_flight.load(std::memory_order_relaxed),
          state_->max_in_flight.load(std::memory_order_relaxed),
          state_->tls_handshakes.load(std::memory_order_relaxed),
          state_->tls_resumed.load(std::memory_order_relaxed),
          state_->connections_open.load(std::memory_order_relaxed)};
}

}  // namespace upstream
