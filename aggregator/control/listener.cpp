#include "aggregator/control/listener.hpp"

#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>

#include "aggregator/control/client_connection.hpp"
#include "aggregator/control/worker_pool.hpp"
#include "aggregator/http/request_reader.hpp"
#include "aggregator/http/response_head.hpp"
#include "aggregator/io/peer_address.hpp"

namespace agg::control {

namespace {

using clock = std::chrono::steady_clock;

/// How long a new connection may take to send its first byte.
constexpr std::chrono::milliseconds first_byte_timeout{2'000};

std::chrono::milliseconds millis(time_t sec, time_t usec) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::seconds{sec} +
                                                               std::chrono::microseconds{usec});
}

/// SO_REUSEADDR only (cpp-httplib's default adds SO_REUSEPORT, which lets a second process bind
/// the same address and take a share of the connections), and TCP_DEFER_ACCEPT.
void listening_socket_options(socket_t sock) {
  const int yes = 1;
  if (::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) != 0) std::perror("setsockopt(SO_REUSEADDR)");
  // As on the data plane: a connection that sends nothing stays with the kernel for the first-byte
  // timeout, and a flood of them never churns through the waiting room ahead of a probe.
  const int seconds = static_cast<int>(std::chrono::ceil<std::chrono::seconds>(first_byte_timeout).count());
  if (::setsockopt(sock, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof seconds) != 0)
    std::perror("setsockopt(TCP_DEFER_ACCEPT)");
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
    http::append_head(out, answer, answer.payload().size(), fate(request));
    if (!request.head_only()) out += answer.payload();
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
  [[nodiscard]] std::string client_address() const override { return io::peer_address(connection_.socket()); }

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

listener::listener(const http::request_limits &limits, const filters::filter_chain &chain, std::size_t threads,
                   std::size_t max_connections)
    : limits_(limits),
      chain_(chain),
      stop_fd_(io::unique_fd::checked(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd")),
      room_(max_connections, [this](int fd) { hand_to_worker(fd); }) {
  set_socket_options(listening_socket_options);
  // cpp-httplib owns and deletes the queue it gets from this factory, made when it starts listening;
  // tasks are short (a connection with bytes to read), so `threads` bound what runs at once.
  new_task_queue = [this, threads, max_connections] {
    auto pool = std::make_unique<worker_pool>(threads, max_connections);
    pool_.store(pool.get(), std::memory_order_release);
    return pool.release();
  };
}

bool listener::raise_backlog(int backlog) const { return ::listen(svr_sock_, backlog) == 0; }

void listener::halt() {
  const std::uint64_t one = 1;
  if (::write(stop_fd_.get(), &one, sizeof one) < 0) std::perror("aggregator: eventfd write");
  room_.stop();  // nothing is handed to a worker from now on, and idle connections close
  stop();
  if (const auto fd = svr_sock_.load(); fd != INVALID_SOCKET) ::shutdown(fd, SHUT_RDWR);
}

// cpp-httplib hands each accepted connection here, on a worker: it waits for its first byte in the
// waiting room, not on the worker.
bool listener::process_and_close_socket(socket_t sock) {
  room_.park(sock, first_byte_timeout);
  return true;
}

void listener::hand_to_worker(int fd) {
  worker_pool *pool = pool_.load(std::memory_order_acquire);
  if (pool != nullptr && pool->try_enqueue([this, fd] { serve(fd); })) return;
  refused_.fetch_add(1, std::memory_order_relaxed);  // every worker busy and the queue full
  ::close(fd);
}

// Reads each request with our reader and serves it through the chain; between requests the
// connection waits in the room, not on this worker.
void listener::serve(int fd) {
  const client_connection connection{fd, stop_fd_.get(), millis(write_timeout_sec_, write_timeout_usec_)};
  http::request_reader reader{limits_};
  std::array<char, 16 * 1024> input{};
  do {
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
      return close_connection(fd);
    }
    if (progress != http::request_reader::progress::complete || !answer(connection, reader.take(), request.started))
      return close_connection(fd);
  } while (reader.has_buffered());  // a pipelined request is here already
  room_.park(fd, std::chrono::seconds{keep_alive_timeout_sec_});
}

bool listener::answer(const client_connection &connection, http::request request, clock::time_point started) {
  const auto to = std::make_shared<blocking_responder>(connection, svr_sock_ != INVALID_SOCKET);
  filters::request_context context;
  context.started = started;
  context.request = std::move(request);
  filters::request_context failed;  // what a failure of ours while serving is answered for
  failed.started = started;
  failed.request.method = context.request.method;
  failed.request.target = context.request.target;
  try {
    chain_.serve(filters::exchange{chain_, to, std::move(context), nullptr});
  } catch (const std::exception &) {  // out of memory, or a bug: answered 500, never a crash
    chain_.refuse(
        filters::exchange{chain_, std::make_shared<blocking_responder>(connection, false), std::move(failed), nullptr},
        {500, "internal", "internal error"});
    return false;
  }
  return to->keeps_alive();
}

void listener::close_connection(int fd) {
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

}  // namespace agg::control
