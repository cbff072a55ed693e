#include "aggregator/control/listener.hpp"

#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>

#include "aggregator/control/client_connection.hpp"
#include "aggregator/http/request_reader.hpp"
#include "aggregator/text/character_rules.hpp"

namespace agg::control {

namespace {

std::chrono::milliseconds millis(time_t sec, time_t usec) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::seconds{sec} +
                                                               std::chrono::microseconds{usec});
}

/// Headers cpp-httplib must not see: the framing the reader already took off (the body reaches the
/// handler directly), the expectation it already answered, and Range, whose parsing in 0.11.4 is a
/// recursive std::regex that a long header would take down the stack.
bool dropped(std::string_view name) {
  for (const std::string_view n : {"Content-Length", "Transfer-Encoding", "Expect", "Range", "If-Range"})
    if (text::equal_ignoring_case(name, n)) return true;
  return false;
}

/// The request as cpp-httplib reads it: request line and headers the reader accepted, no body.
std::string replayed_head(const http::request &request) {
  std::string head;
  head.reserve(request.target.size() + 256);
  head.append(request.method).append(" ").append(request.target);
  head.append(request.version == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  for (const auto &h : request.headers)
    if (!dropped(h.name)) head.append(h.name).append(": ").append(h.value).append("\r\n");
  head.append("\r\n");
  return head;
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
void close_lingering(client_connection &connection) {
  ::shutdown(connection.socket(), SHUT_WR);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{2};
  std::array<char, 16 * 1024> sink{};
  for (std::size_t dropped = 0; dropped < (8U << 20);) {
    const ssize_t n = connection.receive(sink.data(), sink.size(), until);
    if (n <= 0) return;
    dropped += static_cast<std::size_t>(n);
  }
}

}  // namespace

listener::listener(const http::request_limits &limits, refusal_writer on_refusal)
    : limits_(limits),
      on_refusal_(std::move(on_refusal)),
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

// Replaces cpp-httplib's per-connection loop: our reader reads each request, cpp-httplib answers it.
bool listener::process_and_close_socket(socket_t sock) {
  open_connections_.fetch_add(1, std::memory_order_relaxed);
  client_connection connection{sock, stop_fd_.get(), millis(write_timeout_sec_, write_timeout_usec_)};
  http::request_reader reader{limits_};
  std::array<char, 16 * 1024> input{};
  bool ok = false;
  for (std::size_t left = keep_alive_max_count_; left > 0 && svr_sock_ != INVALID_SOCKET; --left) {
    if (!reader.has_buffered() && !connection.wait_for_request(std::chrono::seconds{keep_alive_timeout_sec_})) break;
    // The whole request must arrive within the limit from its first byte, however it is sliced.
    const auto started = clock::now();
    const auto deadline = started + limits_.request_timeout;
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
      if (connection.send_all(on_refusal_(reader.why(), reader.partial(), started))) close_lingering(connection);
      break;
    }
    if (progress != http::request_reader::progress::complete) break;
    http::request request = reader.take();
    connection.replay(replayed_head(request));
    bool closed = false;
    ok = process_request(connection, left == 1, closed,
                         [&request](httplib::Request &handed) { handed.body = std::move(request.body); });
    if (!ok || closed) break;
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  open_connections_.fetch_sub(1, std::memory_order_relaxed);
  return ok;
}

}  // namespace agg::control
