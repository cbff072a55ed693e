#include "aggregator/front/connection.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <span>
#include <system_error>

#include "aggregator/front/data_plane.hpp"
#include "aggregator/front/loop_front.hpp"
#include "aggregator/http/error_body.hpp"
#include "aggregator/http/request_id.hpp"
#include "aggregator/http/response_head.hpp"
#include "aggregator/runtime/engine.hpp"
#include "aggregator/text/json_writer.hpp"

namespace agg::front {

namespace {

using clock = std::chrono::steady_clock;

/// Reads per readiness event before other connections get their turn.
constexpr int reads_per_event = 4;
/// A drained output buffer keeps at most this much capacity: a large answer's memory goes back.
constexpr std::size_t kept_output_capacity = 16 * 1024;
/// What a refused client may still send while its answer is delivered, before the socket closes.
constexpr std::size_t max_lingering_bytes = 8 << 20;

/// `total;dur=<ms>` plus the request's own entries.
std::string server_timing(const request_state &state) {
  std::string timing;
  text::json_writer{timing}
      .raw("total;dur=")
      .number(std::chrono::duration<double, std::milli>(clock::now() - state.started).count(), 3);
  timing += state.timing_entries;
  return timing;
}

/// The head every answer carries: status line, type, length, request id, timing, what the handler
/// added, and the connection's fate.
void write_head(std::string &out, int status, std::string_view content_type, std::optional<std::size_t> length,
                const request_state &state, const std::vector<http::header_field> &headers, bool closing) {
  http::append_status_line(out, status);
  http::append_header(out, "Content-Type", content_type);
  if (length)
    http::append_content_length(out, *length);
  else
    http::append_header(out, "Transfer-Encoding", "chunked");
  http::append_header(out, "X-Request-Id", state.request_id);
  if (state.trace) http::append_header(out, "traceresponse", state.trace->traceparent());
  http::append_header(out, "Server-Timing", server_timing(state));
  for (const auto &h : headers) http::append_header(out, h.name, h.value);
  if (closing)
    http::append_header(out, "Connection", "close");
  else if (state.request.version == 10)
    http::append_header(out, "Connection", "keep-alive");
  out += "\r\n";
}

}  // namespace

response response::error(int status, std::string_view code, std::string_view message) {
  return response{status, http::error_json(code, message)};
}

connection::connection(loop_front &front, io::unique_fd socket)
    : front_(front), socket_(std::move(socket)), reader_(front.limits()), stop_(std::nostopstate) {}

connection::~connection() = default;

void connection::open() {
  self_ = shared_from_this();
  front_.adopt(*this);
  watched_ = EPOLLIN | EPOLLRDHUP;
  front_.events().watch(socket_.get(), watched_, *this);
  front_.request_deadlines.arm(*this, clock::now());  // the first request must come, whole, in time
}

void connection::on_events(std::uint32_t events) {
  const auto keep = shared_from_this();  // closing drops the loop's hold; finish this call first
  if (phase_ == phase::closed) return;
  if (phase_ == phase::serving) {
    // The client's side of the conversation is over: nobody is left to read the answer.
    if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) return close();
    if ((events & EPOLLIN) != 0 && !paused_) {
      paused_ = true;  // a pipelined request: it waits in the socket until this one is answered
      update_interest();
    }
    if ((events & EPOLLOUT) != 0) flush();
    return;
  }
  if ((events & EPOLLOUT) != 0) flush();
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0 && phase_ != phase::closed) read_ready();
}

void connection::read_ready() {
  const std::span<char> buffer = front_.scratch();
  std::size_t lingered = 0;
  for (int i = 0; i < reads_per_event; ++i) {
    const ssize_t n = ::recv(socket_.get(), buffer.data(), buffer.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      peer_closed_ = true;  // EOF, or a reset: nothing more will come
      break;
    }
    if (phase_ == phase::lingering) {
      lingered += static_cast<std::size_t>(n);
      if (lingered > max_lingering_bytes) return close();
      continue;  // read and dropped
    }
    const bool was_started = reader_.started();
    if (reader_.feed({buffer.data(), static_cast<std::size_t>(n)}) == http::request_reader::progress::continue_expected)
      continue_due_ = true;  // sent below, when the request is the one being read
    if (!was_started) {
      // A request's time runs from its first byte, not from each one.
      first_byte_ = clock::now();
      front_.request_deadlines.arm(*this, first_byte_);
    }
    if (static_cast<std::size_t>(n) < buffer.size()) break;
  }
  if (phase_ == phase::lingering) {
    if (peer_closed_) close();
    return;
  }
  serve_buffered();
  if (peer_closed_ && phase_ == phase::reading && out_.empty()) close();
}

void connection::serve_buffered() {
  if (in_serve_) return;  // an answer given synchronously: the loop below goes on with the next
  in_serve_ = true;
  while (phase_ == phase::reading && out_.empty() && !close_after_) {
    if (continue_due_) {
      continue_due_ = false;
      send("HTTP/1.1 100 Continue\r\n\r\n");
      continue;
    }
    const auto progress = reader_.feed({});
    if (progress == http::request_reader::progress::need_more) break;
    if (progress == http::request_reader::progress::continue_expected) {
      send("HTTP/1.1 100 Continue\r\n\r\n");
      continue;
    }
    if (progress == http::request_reader::progress::refused) {
      refuse(reader_.why());
      break;
    }
    request_state state;
    state.started = first_byte_;
    state.request = reader_.take();
    if (reader_.has_buffered()) first_byte_ = clock::now();  // pipelined: its time starts now
    unlink();                                                // no deadline while served: the aggregation has its own
    phase_ = phase::serving;
    stop_ = std::stop_source{std::nostopstate};
    front_.dispatch(shared_from_this(), std::move(state));
  }
  in_serve_ = false;
  if (phase_ == phase::reading && out_.empty() && !close_after_) {
    // Waiting for a request: its first byte within the keep-alive time, the rest within the request time.
    if (reader_.started()) {
      if (!in(front_.request_deadlines)) front_.request_deadlines.arm(*this, clock::now());
    } else if (!in(front_.idle_deadlines) && !in(front_.request_deadlines)) {
      front_.idle_deadlines.arm(*this, clock::now());
    }
  }
  update_interest();
}

std::stop_source connection::stop_source() {
  if (!stop_.stop_possible()) {
    stop_ = std::stop_source{};  // made when a handler first needs one
    // A client that closed its side after the request counts as gone, as nginx treats it.
    if (peer_closed_) stop_.request_stop();
  }
  return stop_;
}

void connection::respond(request_state state, response answer) {
  if (phase_ == phase::closed) return log_and_count(state, answer.status, 0);
  const bool keep_alive = state.request.keep_alive && !peer_closed_ && !front_.draining();
  if (answer.content_type == "application/json" && !answer.body.empty())
    answer.body = http::with_elapsed(std::move(answer.body), state.started);
  std::string head;
  head.reserve(256);
  write_head(head, answer.status, answer.content_type, answer.body.size(), state, answer.headers, !keep_alive);
  // Counted before the bytes leave: a client that has its answer finds it in /metrics.
  log_and_count(state, answer.status, answer.body.size());
  send(head, state.head_only() ? std::string_view{} : std::string_view{answer.body});
  finish_answer(keep_alive);
}

void connection::begin_stream(const request_state &state, int status, std::string_view content_type,
                              const std::vector<http::header_field> &headers) {
  if (phase_ == phase::closed) return;
  std::string head;
  write_head(head, status, content_type, std::nullopt, state, headers, front_.draining() || peer_closed_);
  send(head);
}

void connection::stream_chunk(std::string_view bytes) {
  if (phase_ == phase::closed || bytes.empty()) return;
  std::string chunk;
  char size[20];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
  chunk.reserve(static_cast<std::size_t>(n) + bytes.size() + 2);
  chunk.append(size, static_cast<std::size_t>(n)).append(bytes).append("\r\n");
  send(chunk);
}

void connection::end_stream(request_state state) {
  if (phase_ == phase::closed) return log_and_count(state, 200, 0);
  log_and_count(state, 200, 0);
  send("0\r\n\r\n");
  finish_answer(state.request.keep_alive && !peer_closed_ && !front_.draining());
}

void connection::finish_answer(bool keep_alive) {
  if (phase_ == phase::closed) return;
  phase_ = phase::reading;
  stop_ = std::stop_source{std::nostopstate};
  paused_ = false;
  if (!keep_alive) {
    close_after_ = true;
    if (out_.empty()) begin_close();
    update_interest();
    return;
  }
  if (out_.empty()) serve_buffered();
  update_interest();
}

void connection::refuse(const http::refusal &why) {
  request_state state;
  state.started = reader_.started() ? first_byte_ : clock::now();
  state.request.method = reader_.partial().method;
  state.request.target = reader_.partial().target;
  state.request_id = http::new_request_id();
  const std::string body = http::with_elapsed(http::error_json(why.code, why.message), state.started);
  std::string message;
  write_head(message, why.status, "application/json", body.size(), state, {}, true);
  message += body;
  linger_ = true;  // the client may still be sending what was refused
  close_after_ = true;
  unlink();
  log_and_count(state, why.status, body.size());
  send(message);
  if (phase_ != phase::closed && out_.empty()) begin_close();
}

void connection::send(std::string_view bytes, std::string_view more) {
  if (phase_ == phase::closed) return;
  if (out_.empty()) {
    // Both parts in one system call, without copying them together first.
    std::array<iovec, 2> parts{iovec{const_cast<char *>(bytes.data()), bytes.size()},
                               iovec{const_cast<char *>(more.data()), more.size()}};
    msghdr message{};
    message.msg_iov = parts.data();
    message.msg_iovlen = more.empty() ? 1 : 2;
    ssize_t n = 0;
    do {
      n = ::sendmsg(socket_.get(), &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return close();
    auto sent = static_cast<std::size_t>(std::max<ssize_t>(n, 0));
    const std::size_t from_first = std::min(sent, bytes.size());
    bytes.remove_prefix(from_first);
    more.remove_prefix(std::min(sent - from_first, more.size()));
    if (bytes.empty() && more.empty()) return;
  }
  out_.append(bytes).append(more);
  if (!in(front_.send_deadlines)) front_.send_deadlines.arm(*this, clock::now());
  update_interest();
}

void connection::flush() {
  while (!out_.empty()) {
    const ssize_t n = ::send(socket_.get(), out_.data(), out_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) return close();
    out_.erase(0, static_cast<std::size_t>(n));
    front_.send_deadlines.arm(*this, clock::now());  // progress: the stall timer starts again
  }
  if (!out_.empty()) return update_interest();
  if (in(front_.send_deadlines)) unlink();
  if (out_.capacity() > kept_output_capacity) std::string{}.swap(out_);
  if (close_after_ && phase_ == phase::reading) return begin_close();
  if (phase_ == phase::reading) serve_buffered();
  update_interest();
}

void connection::update_interest() {
  if (phase_ == phase::closed) return;
  std::uint32_t wanted = 0;
  const bool reading = phase_ == phase::lingering || (phase_ == phase::reading && !close_after_) ||
                       (phase_ == phase::serving && !paused_);
  // Once the client closed its side, EOF stays readable: watching it would wake every round.
  if (!peer_closed_) wanted = EPOLLRDHUP | (reading ? EPOLLIN : 0U);
  if (!out_.empty()) wanted |= EPOLLOUT;
  if (wanted == watched_) return;
  try {
    front_.events().rewatch(socket_.get(), wanted, *this);
    watched_ = wanted;
  } catch (const std::system_error &) {
    close();
  }
}

void connection::begin_close() {
  // Closing with bytes unread would make the kernel reset the connection, and the reset can
  // destroy the answer before the client reads it: linger (read and drop) for a moment first.
  if (!linger_ && !reader_.has_buffered()) return close();
  ::shutdown(socket_.get(), SHUT_WR);
  phase_ = phase::lingering;
  front_.linger_deadlines.arm(*this, clock::now());
  update_interest();
}

void connection::on_deadline() {
  const auto keep = shared_from_this();
  if (phase_ == phase::reading && reader_.started() && out_.empty() && !close_after_)
    return refuse({408, "request_timeout",
                   "the request did not arrive within " + std::to_string(front_.request_deadlines.timeout().count()) +
                       " ms of its first byte"});
  close();  // idle too long, a first byte that never came, an answer nobody reads, or lingering over
}

bool connection::idle() const noexcept { return phase_ == phase::reading && !reader_.started() && out_.empty(); }

void connection::close_now() {
  const auto keep = shared_from_this();
  close();
}

void connection::close() {
  if (phase_ == phase::closed) return;
  phase_ = phase::closed;
  if (stop_.stop_possible()) stop_.request_stop();  // the answer being prepared has nobody to go to
  unlink();
  front_.forget(*this);
  socket_ = io::unique_fd{};  // leaves the epoll set with it
  // The object itself goes after this round: the round's events may still name it.
  front_.events().post([released = std::move(self_)] {});
}

void connection::log_and_count(const request_state &state, int status, std::size_t bytes) const {
  const auto took = clock::now() - state.started;
  runtime::engine &engine = front_.plane().engine();
  engine.stats.record_request(state.route, status, took);
  engine.log.access({state.request_id, state.request.method, state.path.empty() ? state.request.target : state.path,
                     state.route, status, bytes, took, state.upstream_calls, state.upstream_failures,
                     state.trace ? std::string_view{state.trace->trace_id} : std::string_view{},
                     state.trace ? std::string_view{state.trace->span_id} : std::string_view{},
                     state.trace ? std::string_view{state.trace->parent_id} : std::string_view{}});
}

}  // namespace agg::front
