// The HTTP/2 half of a client connection: telling h2c's preface from HTTP/1.1, reading into the
// session, sending what it queues, the deadlines that apply, and what the session asks of its host.
#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <utility>

#include "aggregator/front/connection.hpp"
#include "aggregator/front/data_plane.hpp"
#include "aggregator/front/loop_front.hpp"

namespace agg::front {

namespace {

using clock = std::chrono::steady_clock;

/// HTTP/2 frames taken from the session per send: the socket's share of them, not the session's backlog.
constexpr std::size_t h2_send_budget = 64 * 1024;
/// What a client that knows the server speaks HTTP/2 opens with (RFC 9113, 3.4).
constexpr std::string_view h2_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

}  // namespace

void connection::sniff_h2c(std::string_view bytes) {
  sniffed_.append(bytes);
  const std::size_t compared = std::min(sniffed_.size(), h2_preface.size());
  if (std::string_view{sniffed_}.substr(0, compared) != h2_preface.substr(0, compared)) {
    may_be_h2c_ = false;
    return;
  }
  if (sniffed_.size() < h2_preface.size()) return;
  start_h2();
  // The preface and whatever came after it; a session that refuses them has its GOAWAY queued,
  // which read_h2() sends.
  static_cast<void>(h2_->receive(sniffed_));
  sniffed_ = std::string{};
}

void connection::start_h2() {
  may_be_h2c_ = false;
  h2_ = std::make_unique<h2_session>(static_cast<h2_host &>(*this), front_.plane().server().http2, front_.limits(),
                                     h2_origin{tls_.has_value(), client_subject_});
  front_.plane().count_http2(data_plane::http2_event::connection);
}

void connection::read_h2() {
  const std::span<char> buffer = front_.scratch();
  for (int i = 0; i < reads_per_event && phase_ == phase::reading; ++i) {
    const auto n = receive(buffer);
    if (!n) break;
    if (*n == 0) {
      peer_closed_ = true;
      break;
    }
    if (!h2_->receive({buffer.data(), *n})) break;  // its GOAWAY goes out below, then it closes
    if (!tls_ && *n < buffer.size()) break;
  }
  // The client is gone (HTTP/2 has no half-close of a connection): its streams are cancelled.
  if (peer_closed_) return close();
  pump_h2();
}

void connection::pump_h2() {
  bool moved = false;  // the socket took bytes
  while (phase_ == phase::reading && !sending()) {
    if (!h2_->produce(out_, h2_send_budget)) break;
    front_.plane().unsent().change(0, out_.size());
    const auto sent = send_parts(out_, {});
    if (!sent) return close();
    out_.erase(0, *sent);
    front_.plane().unsent().change(*sent + out_.size(), out_.size());
    moved = moved || *sent > 0;
  }
  if (phase_ != phase::reading) return;
  if (!sending() && h2_->finished()) {
    // GOAWAY said, and the last stream answered (or the session failed): what the client still
    // sends is read and dropped for a moment, so its reset cannot destroy the last frames (for a
    // client that flooded, only a little of it).
    then_ = then::close_lingering;
    return begin_close();
  }
  if (const bool stalled = h2_->answers_stalled(); sending() || stalled) {
    // Progress starts the stall timer again: while answers wait for the client's window, only their
    // bytes leaving count (a client that reads PING acknowledgements and never opens its window
    // does not), else what the socket took.
    const bool progress = stalled ? std::exchange(answer_bytes_moved_, false) : moved;
    if (progress || !in(front_.send_deadlines)) front_.send_deadlines.arm(*this, clock::now());
  } else if (h2_->receiving()) {
    if (!in(front_.request_deadlines)) front_.request_deadlines.arm(*this, clock::now());
  } else if (h2_->open_streams() == 0) {
    // Idle: the keep-alive time runs from its last request (a new connection's: from its start). Its
    // streams may all have begun and ended within this read, so that it never left the list it was in.
    if (h2_->take_activity() || (!in(front_.idle_deadlines) && !in(front_.fresh_deadlines)))
      front_.idle_deadlines.arm(*this, clock::now());
  } else {
    unlink();  // answers being prepared: the aggregations have their own deadlines
  }
  if (out_.capacity() > kept_output_capacity && !sending()) std::string{}.swap(out_);
  update_interest();
}

void connection::serve(std::shared_ptr<filters::responder> stream, filters::request_context request) {
  front_.dispatch(std::move(stream), std::move(request), *this);
}

void connection::refuse(std::shared_ptr<filters::responder> stream, filters::request_context request,
                        const http::refusal &why) {
  front_.refuse(std::move(stream), std::move(request), why);
}

void connection::output_ready() {
  if (phase_ == phase::reading) pump_h2();
}

void connection::held(std::size_t before, std::size_t after) noexcept {
  front_.plane().unsent().change(before, after);
  if (after < before) answer_bytes_moved_ = true;
}

void connection::misbehaved(std::string_view why) noexcept {
  front_.plane().count_http2(why == "http2_rapid_reset"     ? data_plane::http2_event::rapid_reset
                             : why == "http2_control_flood" ? data_plane::http2_event::control_flood
                                                            : data_plane::http2_event::protocol_error);
}

}  // namespace agg::front
