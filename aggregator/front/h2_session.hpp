#pragma once

#include <nghttp2/nghttp2.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "aggregator/config/service_config.hpp"
#include "aggregator/filters/request_context.hpp"
#include "aggregator/filters/responder.hpp"
#include "aggregator/http/request.hpp"
#include "aggregator/http/request_limits.hpp"
#include "aggregator/io/unique_handle.hpp"

namespace agg::front {

/// What an HTTP/2 session needs from the connection it runs on: a way into the filter chain for
/// each stream's request, and a nudge when frames wait to be sent outside a read.
class h2_host {
 public:
  virtual ~h2_host() = default;
  /// A stream's request is complete: through the filter chain, answered on `stream`.
  virtual void serve(std::shared_ptr<filters::responder> stream, filters::request_context request) = 0;
  /// A stream's request was refused before any filter (too large): its answer through the chain's way out.
  virtual void refuse(std::shared_ptr<filters::responder> stream, filters::request_context request,
                      const http::refusal &why) = 0;
  /// An answer was given outside receive(): frames wait for produce().
  virtual void output_ready() = 0;
  /// Answer bytes held for slow streams went from `before` to `after` (the plane counts them as unsent).
  virtual void held(std::size_t before, std::size_t after) noexcept = 0;
  /// The client's address, for a stream's client_address().
  [[nodiscard]] virtual std::string peer_address() const = 0;
  /// The client misbehaved (`why`: a rapid reset, a flood, a protocol error): said once per connection.
  virtual void misbehaved(std::string_view why) noexcept = 0;
};

/// Where the connection's requests come from, as each stream's request context says.
struct h2_origin {
  bool secure = false;         ///< over TLS (ALPN h2), not h2c
  std::string client_subject;  ///< the verified client certificate's subject
};

class h2_stream;

/// The server side of one HTTP/2 connection (libnghttp2, RFC 9113): frames in, frames out, nothing
/// about sockets. Each stream is one request, handed to the host once complete and answered through
/// its own responder (whole, or streamed as DATA frames while the answer's chunks come), with the
/// client's flow control respected. What the server announces in its SETTINGS it holds clients to
/// (431 past the header list, 413 past the body, 414 past the target), and it defends itself: a
/// stream the client resets before its answer is complete cancels that answer and counts against the
/// connection; past `max_resets_per_s` (CVE-2023-44487) or `max_control_frames_per_s` (SETTINGS and
/// PING floods) the session ends with GOAWAY (ENHANCE_YOUR_CALM); CONTINUATION floods end at
/// nghttp2's limit on them (CVE-2024-27316); unread SETTINGS/PING acknowledgements end it too.
/// Loop thread only; never re-entered from its own callbacks (requests are handed on after a read).
class h2_session {
 public:
  h2_session(h2_host &host, const config::http2_config &settings, const http::request_limits &limits, h2_origin origin);
  h2_session(const h2_session &) = delete;
  h2_session &operator=(const h2_session &) = delete;
  /// Every stream still open is cancelled.
  ~h2_session();

  /// What the client sent (the connection preface first): its complete requests go to the host.
  /// False when the connection must end (a protocol error or a flood): what produce() still gives is
  /// the GOAWAY that says why.
  bool receive(std::string_view bytes);
  /// Appends the frames waiting to be sent to `out`, about `limit` bytes at most (a whole frame may
  /// go past it): false when none waited.
  bool produce(std::string &out, std::size_t limit);
  /// Graceful end (shutdown): GOAWAY with the last stream taken; open streams are answered, new ones refused.
  void go_away();
  /// The session is over: nothing more to read or send (after GOAWAY and its last stream, or an error).
  [[nodiscard]] bool finished() const noexcept;
  /// Whether requests were handed on since the last call: the connection is in use, not idle.
  [[nodiscard]] bool take_activity() noexcept { return std::exchange(active_, false); }
  /// It ended because its client misbehaved (GOAWAY for a flood or a protocol error).
  [[nodiscard]] bool rejected() const noexcept { return rejected_; }
  /// Streams open now (requests being received, served or answered).
  [[nodiscard]] std::size_t open_streams() const noexcept { return streams_.size(); }
  /// A stream's request is still arriving (its headers or body): the request deadline applies.
  [[nodiscard]] bool receiving() const noexcept;
  /// Answer bytes wait for the client's flow-control window: the send deadline applies.
  [[nodiscard]] bool answers_stalled() const noexcept;
  /// The connection is closing: every stream's answer is cancelled (its stop_source stops).
  void cancel_all() noexcept;

 private:
  friend class h2_stream;
  struct callbacks;

  /// A token bucket: `per_second` refilled each second, up to twice that at once.
  struct budget {
    double tokens = 0;
    std::chrono::steady_clock::time_point last{};
    bool take(std::uint32_t per_second, std::chrono::steady_clock::time_point now) noexcept;
  };

  [[nodiscard]] h2_stream *stream(std::int32_t id) const noexcept;
  /// The stream's request is complete (or refused): handed on once the read is over.
  void make_ready(h2_stream &s);
  /// Frames were queued outside receive()/produce(): the host is told.
  void queued();
  /// Ends the session with GOAWAY (`error_code`) because of what the client did; what a callback
  /// returns to stop nghttp2 reading on.
  int reject(std::uint32_t error_code, std::string_view why);
  void hand_on_ready();

  h2_host &host_;
  const config::http2_config &settings_;
  const http::request_limits &limits_;
  h2_origin origin_;
  io::unique_handle<nghttp2_session, nghttp2_session_del> session_;
  std::unordered_map<std::int32_t, std::shared_ptr<h2_stream>> streams_;
  std::vector<std::shared_ptr<h2_stream>> ready_;  // complete requests, handed on once the read is over
  budget resets_;
  budget control_frames_;
  bool active_ = false;      // requests were handed on since take_activity()
  bool busy_ = false;        // in receive() or produce(): the caller sends what is queued
  bool rejected_ = false;    // GOAWAY for a misbehaving client is queued
  bool going_away_ = false;  // GOAWAY for a shutdown is queued
  bool failed_ = false;      // nghttp2 cannot go on (not HTTP/2, out of memory): nothing more to send
};

}  // namespace agg::front
