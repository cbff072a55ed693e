#include "aggregator/front/connection.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <span>
#include <utility>

#include "aggregator/front/data_plane.hpp"
#include "aggregator/front/loop_front.hpp"
#include "aggregator/http/response_head.hpp"
#include "aggregator/io/peer_address.hpp"

namespace agg::front {

namespace {

using clock = std::chrono::steady_clock;

/// What a refused client may still send while its answer is delivered, before the socket closes.
constexpr std::size_t max_lingering_bytes = 8 << 20;
/// The same for an HTTP/2 client that flooded: enough for its GOAWAY to arrive, not a flood's worth.
constexpr std::size_t max_lingering_bytes_flooding = 256 << 10;

}  // namespace

connection::connection(loop_front &front, io::unique_fd socket)
    : front_(front), socket_(std::move(socket)), reader_(front.limits()), stop_(std::nostopstate) {}

connection::~connection() = default;

void connection::start() {
  self_ = shared_from_this();
  front_.adopt(*this);
  watched_ = EPOLLIN | EPOLLRDHUP;
  if (server_tls *tls = front_.plane().tls()) {
    try {
      tls_.emplace(tls->new_session(socket_.get()));
    } catch (const std::exception &) {
      tls->count(server_tls::outcome::failed);
      return close();
    }
    phase_ = phase::handshaking;
    handshake_wants_ = EPOLLIN;  // the client speaks first
    watched_ = EPOLLIN;
  } else {
    may_be_h2c_ = front_.plane().server().http2.enabled;
  }
  front_.events().watch(socket_.get(), watched_, *this);
  // The handshake, then its first byte, must come in time (then the request, whole).
  (tls_ ? front_.handshake_deadlines : front_.fresh_deadlines).arm(*this, clock::now());
}

void connection::handshake() {
  server_tls &tls = *front_.plane().tls();
  switch (tls_->handshake()) {
    case tls_stream::step::wants_read: handshake_wants_ = EPOLLIN; return update_interest();
    case tls_stream::step::wants_write: handshake_wants_ = EPOLLOUT; return update_interest();
    case tls_stream::step::failed: tls.count(server_tls::outcome::failed); return close();
    case tls_stream::step::done: break;
  }
  tls.count(tls_->resumed() ? server_tls::outcome::resumed : server_tls::outcome::full);
  client_subject_ = tls_->peer_subject();
  phase_ = phase::reading;
  front_.fresh_deadlines.arm(*this, clock::now());
  if (tls_->chose_h2()) start_h2();
  read_ready();  // the request may have come with the handshake's last flight
}

void connection::on_events(std::uint32_t events) {
  const auto keep = shared_from_this();  // closing drops the loop's hold; finish this call first
  if (phase_ == phase::closed) return;
  if (phase_ == phase::handshaking) return handshake();
  if (tls_ && tls_->write_first() && (events & EPOLLOUT) != 0) {
    tls_->socket_writable();
    events |= EPOLLIN;  // the TLS read that had to send first can go on
  }
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
  if (h2_ && phase_ != phase::lingering) return read_h2();
  const std::span<char> buffer = front_.scratch();
  for (int i = 0; i < reads_per_event; ++i) {
    const auto n = receive(buffer);
    if (!n) break;
    if (*n == 0) {
      peer_closed_ = true;  // EOF, or a reset: nothing more will come
      break;
    }
    if (phase_ == phase::lingering) {
      lingered_ += *n;
      if (lingered_ > (h2_ && h2_->rejected() ? max_lingering_bytes_flooding : max_lingering_bytes)) return close();
      continue;  // read and dropped
    }
    std::string_view bytes{buffer.data(), *n};
    if (may_be_h2c_) {
      sniff_h2c(bytes);
      if (h2_) return read_h2();  // HTTP/2 from the first byte on
      if (may_be_h2c_) continue;  // a part of the preface: more is needed to tell
      bytes = sniffed_;           // not HTTP/2: what was held back goes to the reader
    }
    const bool was_started = reader_.started();
    if (reader_.feed(bytes) == http::request_reader::progress::continue_expected)
      continue_due_ = true;  // sent below, when the request is the one being read
    if (!sniffed_.empty()) sniffed_ = std::string{};
    if (!was_started) {
      // A request's time runs from its first byte, not from each one.
      first_byte_ = clock::now();
      front_.request_deadlines.arm(*this, first_byte_);
    }
    // A short read emptied the socket; TLS reads a record (16 KiB at most) at a time, so it reads on.
    if (!tls_ && *n < buffer.size()) break;
  }
  if (phase_ == phase::lingering) {
    if (peer_closed_) return close();
    return update_interest();
  }
  serve_buffered();
  if (peer_closed_ && phase_ == phase::reading && !sending()) close();
}

void connection::serve_buffered() {
  if (in_serve_) return;  // an answer given at once: the loop below goes on with the next request
  in_serve_ = true;
  while (phase_ == phase::reading && !sending() && then_ == then::read_on) {
    if (continue_due_) {
      continue_due_ = false;
      write("HTTP/1.1 100 Continue\r\n\r\n");
      continue;
    }
    const auto progress = reader_.feed({});
    if (progress == http::request_reader::progress::need_more) break;
    if (progress == http::request_reader::progress::continue_expected) {
      write("HTTP/1.1 100 Continue\r\n\r\n");
      continue;
    }
    if (progress == http::request_reader::progress::refused) {
      refuse(reader_.why());
      break;
    }
    filters::request_context request;
    request.started = first_byte_;
    request.request = reader_.take();
    request.client_subject = client_subject_;
    request.secure = tls_.has_value();
    if (reader_.has_buffered()) first_byte_ = clock::now();  // pipelined: its time starts now
    unlink();                                                // no deadline while served: the aggregation has its own
    phase_ = phase::serving;
    stop_ = std::stop_source{std::nostopstate};
    front_.dispatch(shared_from_this(), std::move(request), *this);
  }
  in_serve_ = false;
  if (phase_ == phase::reading && !sending() && then_ == then::read_on) {
    // Waiting for a request: its first byte within the keep-alive time, the rest within the request time.
    if (reader_.started()) {
      if (!in(front_.request_deadlines)) front_.request_deadlines.arm(*this, clock::now());
    } else if (!in(front_.idle_deadlines) && !in(front_.request_deadlines) && !in(front_.fresh_deadlines)) {
      front_.idle_deadlines.arm(*this, clock::now());
    }
  }
  update_interest();
}

void connection::drain() {
  if (h2_) {
    if (phase_ != phase::reading) return;
    h2_->go_away();
    return pump_h2();
  }
  if (idle()) close_now();
}

std::stop_source connection::stop_source() {
  if (!stop_.stop_possible()) {
    stop_ = std::stop_source{};  // made when a handler first needs one
    // A client that closed its side after the request counts as gone, as nginx treats it.
    if (peer_closed_) stop_.request_stop();
  }
  return stop_;
}

bool connection::keeps_alive(const filters::request_context &request) const noexcept {
  return then_ == then::read_on && request.request.keep_alive && !peer_closed_ && !front_.draining();
}

void connection::send(const filters::request_context &request, const http::response &answer) {
  if (phase_ == phase::closed) return;
  const bool keep_alive = keeps_alive(request) && !answer.closes_connection;
  std::string head;
  head.reserve(256);
  http::append_head(head, answer, answer.payload().size(),
                    !keep_alive                     ? http::connection_fate::close
                    : request.request.version == 10 ? http::connection_fate::keep_alive_http10
                                                    : http::connection_fate::keep_alive);
  if (!request.head_only())
    write(head, answer.payload(), answer.shared_body);
  else
    write(head);
  finish_answer(keep_alive);
}

void connection::send_head(const filters::request_context &request, const http::response &head) {
  if (phase_ == phase::closed) return;
  std::string out;
  http::append_head(out, head, std::nullopt,
                    front_.draining() || peer_closed_ ? http::connection_fate::close
                    : request.request.version == 10   ? http::connection_fate::keep_alive_http10
                                                      : http::connection_fate::keep_alive);
  write(out);
}

void connection::send_chunk(std::string_view bytes) {
  if (phase_ == phase::closed || bytes.empty()) return;
  std::string chunk;
  http::append_chunk(chunk, bytes);
  write(chunk);
}

void connection::send_end(const filters::request_context &request) {
  if (phase_ == phase::closed) return;
  write(http::last_chunk);
  finish_answer(keeps_alive(request));
}

void connection::finish_answer(bool keep_alive) {
  if (phase_ == phase::closed) return;
  phase_ = phase::reading;
  stop_ = std::stop_source{std::nostopstate};
  paused_ = false;
  if (!keep_alive) {
    if (then_ == then::read_on) then_ = then::close;
    if (!sending()) begin_close();
    update_interest();
    return;
  }
  if (!sending()) serve_buffered();
  update_interest();
}

void connection::refuse(const http::refusal &why) {
  filters::request_context request;
  request.started = reader_.started() ? first_byte_ : clock::now();
  request.request.method = reader_.partial().method;
  request.request.target = reader_.partial().target;
  then_ = then::close_lingering;  // the client may still be sending what was refused
  unlink();
  front_.refuse(shared_from_this(), std::move(request), why);
}

void connection::begin_close() {
  // Closing with bytes unread would make the kernel reset the connection, and the reset can
  // destroy the answer before the client reads it: linger (read and drop) for a moment first.
  if (then_ != then::close_lingering && !reader_.has_buffered()) return close();
  if (tls_) tls_->notify_close();
  ::shutdown(socket_.get(), SHUT_WR);
  phase_ = phase::lingering;
  front_.linger_deadlines.arm(*this, clock::now());
  update_interest();
}

void connection::on_deadline() {
  const auto keep = shared_from_this();
  if (phase_ == phase::handshaking) {
    front_.plane().tls()->count(server_tls::outcome::timed_out);
    return close();
  }
  if (h2_ && phase_ == phase::reading && h2_->open_streams() == 0 && !sending()) {
    h2_->go_away();  // idle too long: said before closing, so the client knows no stream was lost
    pump_h2();
    if (phase_ == phase::reading) close();
    return;
  }
  if (phase_ == phase::reading && reader_.started() && !sending() && then_ == then::read_on)
    return refuse({408, "request_timeout",
                   "the request did not arrive within " + std::to_string(front_.request_deadlines.timeout().count()) +
                       " ms of its first byte"});
  close();  // idle too long, a first byte that never came, an answer nobody reads, or lingering over
}

std::string connection::client_address() const { return io::peer_address(socket_.get()); }

bool connection::has_unread_bytes() const noexcept { return io::has_unread_bytes(socket_.get()); }

bool connection::idle() const noexcept {
  if (h2_) return phase_ == phase::reading && h2_->open_streams() == 0 && !sending();
  return phase_ == phase::handshaking || (phase_ == phase::reading && !reader_.started() && !sending());
}

void connection::close_now() {
  const auto keep = shared_from_this();
  close();
}

void connection::close() {
  if (phase_ == phase::closed) return;
  if (tls_) tls_->notify_close();
  phase_ = phase::closed;
  front_.plane().unsent().change(out_.size(), 0);
  out_.clear();
  shared_out_.reset();
  if (stop_.stop_possible()) stop_.request_stop();  // the answer being prepared has nobody to go to
  if (h2_) h2_->cancel_all();                       // every stream's, on HTTP/2
  unlink();
  front_.forget(*this);
  // Out of the epoll set before the close: closing alone leaves it registered while another copy of
  // the descriptor lives (a child between fork and exec: the tests start redis-server and nginx
  // while connections come and go), and its events would name this object after it is gone.
  front_.events().unwatch(socket_.get());
  socket_ = io::unique_fd{};
  // The object itself goes after this round: the round's events may still name it.
  front_.events().post([released = std::move(self_)] {});
}

}  // namespace agg::front
