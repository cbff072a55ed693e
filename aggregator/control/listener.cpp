#include "aggregator/control/listener.hpp"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>

#include "aggregator/control/client_connection.hpp"
#include "aggregator/http/request_reader.hpp"
#include "aggregator/http/response_head.hpp"

namespace agg::control {

namespace {

using clock = std::chrono::steady_clock;

std::chrono::milliseconds millis(time_t sec, time_t usec) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::seconds{sec} +
                                                               std::chrono::microseconds{usec});
}

/// SO_REUSEADDR only: cpp-httplib's default adds SO_REUSEPORT, which lets a second process bind
/// the same address and take a share of the connections.
void listening_socket_options(socket_t sock) {
  const int yes = 1;
  if (::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) != 0) std::perror("setsockopt(SO_REUSEADDR)");
}

/// Closes a connection whose client may still be sending (a refused body): the write side first, so
/// the answer is delivered, then whatever still arrives is read and dropped for a moment. Closing
/// with unread bytes would make the kernel reset the connection and could destroy the answer before
/// the client read it. Bounded in time and bytes; nothing is kept.
void close_lingering(const client_connection &connection) {
  ::shutdown(connection.socket(), SHUT_WR);
  const auto until = clock::now() + std::chrono::seconds{2};
  std::array<char, 16 * 1024> sink{};
  for (std::size_t dropped = 0; dropped < (8U << 20);) {
    const ssize_t n = connection.receive(sink.data(), sink.size(), until);
    if (n <= 0) return;
    dropped += static_cast<std::size_t>(n);
  }
}

/// A control-plane request's way back: the answer is written at once, on the worker thread.
/// Control endpoints answer before they return, so nothing here is cancelled.
class blocking_responder final : public filters::responder {
 public:
  blocking_responder(const client_connection &connection, bool may_keep_alive) noexcept
      : connection_(connection), may_keep_alive_(may_keep_alive) {}

  void send(const filters::request_context &request, const http::response &answer) override {
    keep_alive_ = may_keep_alive_ && request.request.keep_alive && !answer.closes_connection;
    std::string out;
    http::append_head(out, answer, answer.body.size(), fate(request));
    if (!request.head_only()) out += answer.body;
    written_ = connection_.send_all(out);
  }
  void send_head(const filters::request_context &request, const http::response &head) override {
    keep_alive_ = may_keep_alive_ && request.request.keep_alive;
    std::string out;
    http::append_head(out, head, std::nullopt, fate(request));
    written_ = connection_.send_all(out);
  }
  void send_chunk(std::string_view bytes) override {
    std::string out;
    http::append_chunk(out, bytes);
    written_ = written_ && connection_.send_all(out);
  }
  void send_end(const filters::request_context &) override {
    written_ = written_ && connection_.send_all(http::last_chunk);
  }
  [[nodiscard]] std::stop_source stop_source() override { return std::stop_source{std::nostopstate}; }
  [[nodiscard]] bool open() const noexcept override { return written_; }

  /// The answer went out and the connection may serve another request.
  [[nodiscard]] bool keeps_alive() const noexcept { return written_ && keep_alive_; }

 private:
  [[nodiscard]] http::connection_fate fate(const filters::request_context &request) const noexcept {
    if (!keep_alive_) return http::connection_fate::close;
    return request.request.version == 10 ? http::connection_fate::keep_alive_http10 : http::connection_fate::keep_alive;
  }

  const client_connection &connection_;
  bool may_keep_alive_;
  bool keep_alive_ = false;
  bool written_ = true;
};

}  // namespace

listener::listener(const http::request_limits &limits, const filters::filter_chain &chain)
    : limits_(limits),
      chain_(chain),
      stop_fd_(io::unique_fd::checked(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd")) {
  set_socket_options(listening_socket_options);
}

bool listener::raise_backlog(int backlog) const { return ::listen(svr_sock_, backlog) == 0; }

void listener::halt() {
  const std::uint64_t one = 1;
  if (::write(stop_fd_.get(), &one, sizeof one) < 0) std::perror("aggregator: eventfd write");
  stop();
  if (const auto fd = svr_sock_.load(); fd != INVALID_SOCKET) ::shutdown(fd, SHUT_RDWR);
}

// Replaces cpp-httplib's per-connection loop: our reader reads each request, the chain serves it.
bool listener::process_and_close_socket(socket_t sock) {
  open_connections_.fetch_add(1, std::memory_order_relaxed);
  const client_connection connection{sock, stop_fd_.get(), millis(write_timeout_sec_, write_timeout_usec_)};
  http::request_reader reader{limits_};
  std::array<char, 16 * 1024> input{};
  for (std::size_t left = keep_alive_max_count_; left > 0 && svr_sock_ != INVALID_SOCKET; --left) {
    if (!reader.has_buffered() && !connection.wait_for_request(std::chrono::seconds{keep_alive_timeout_sec_})) break;
    // The whole request must arrive within the limit from its first byte, however it is sliced.
    filters::request_context request;
    request.started = clock::now();
    const auto deadline = request.started + limits_.request_timeout;
    auto progress = reader.feed({});
    while (progress == http::request_reader::progress::need_more ||
           progress == http::request_reader::progress::continue_expected) {
      if (progress == http::request_reader::progress::continue_expected &&
          !connection.send_all("HTTP/1.1 100 Continue\r\n\r\n"))
        break;
      const ssize_t n = connection.receive(input.data(), input.size(), deadline);
      if (n <= 0) break;  // gone, too slow, or stopping: nothing to answer
      progress = reader.feed({input.data(), static_cast<std::size_t>(n)});
    }
    if (progress == http::request_reader::progress::refused) {
      request.request.method = reader.partial().method;
      request.request.target = reader.partial().target;
      const auto to = std::make_shared<blocking_responder>(connection, false);
      chain_.refuse(filters::exchange{chain_, to, std::move(request), nullptr}, reader.why());
      if (to->open()) close_lingering(connection);
      break;
    }
    if (progress != http::request_reader::progress::complete) break;
    request.request = reader.take();
    const auto to = std::make_shared<blocking_responder>(connection, left > 1);
    filters::request_context failed;  // what a failure of ours while serving is answered for
    failed.started = request.started;
    failed.request.method = request.request.method;
    failed.request.target = request.request.target;
    try {
      chain_.serve(filters::exchange{chain_, to, std::move(request), nullptr});
    } catch (const std::exception &) {  // out of memory, or a bug: answered 500, never a crash
      chain_.refuse(filters::exchange{chain_, std::make_shared<blocking_responder>(connection, false),
                                      std::move(failed), nullptr},
                    {500, "internal", "internal error"});
      break;
    }
    if (!to->keeps_alive()) break;
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  open_connections_.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

}  // namespace agg::control
