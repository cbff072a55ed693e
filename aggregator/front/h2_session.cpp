#include "aggregator/front/h2_session.hpp"

#include "aggregator/front/h2_stream.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <new>
#include <optional>
#include <stdexcept>
#include <stop_token>

#include "aggregator/text/character_rules.hpp"

namespace agg::front {

namespace {

using clock = std::chrono::steady_clock;

/// CONTINUATION frames one header block may take (nghttp2's default, said here since it is a defence).
constexpr std::size_t max_continuations = 8;
/// Entries one SETTINGS frame may carry.
constexpr std::size_t max_settings_entries = 32;
/// SETTINGS and PING acknowledgements queued for a client that does not read them: past it, the end.
constexpr std::size_t max_outbound_acks = 1000;

std::string_view view(const std::uint8_t *bytes, std::size_t length) noexcept {
  return {reinterpret_cast<const char *>(bytes), length};
}

}  // namespace
bool h2_session::budget::take(std::uint32_t per_second, clock::time_point now) noexcept {
  const double burst = 2.0 * per_second;
  if (last == clock::time_point{}) tokens = burst;
  const double seconds = std::chrono::duration<double>(now - last).count();
  tokens = std::min(burst, tokens + seconds * per_second);
  last = now;
  if (tokens < 1.0) return false;
  tokens -= 1.0;
  return true;
}

/// nghttp2's callbacks: they note what arrived; nothing is handed on from inside them.
struct h2_session::callbacks {
  static h2_session &of(void *user_data) noexcept { return *static_cast<h2_session *>(user_data); }

  static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    h2_session &self = of(user_data);
    auto made = std::make_shared<h2_stream>(self, frame->hd.stream_id);
    made->started = clock::now();
    made->asked.version = 20;
    h2_stream *s = made.get();
    self.streams_.emplace(frame->hd.stream_id, std::move(made));
    return nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, s) == 0 ? 0
                                                                                      : NGHTTP2_ERR_CALLBACK_FAILURE;
  }

  static int on_header(nghttp2_session *, const nghttp2_frame *frame, const std::uint8_t *name_bytes,
                       std::size_t name_length, const std::uint8_t *value_bytes, std::size_t value_length, std::uint8_t,
                       void *user_data) {
    h2_session &self = of(user_data);
    h2_stream *s = self.stream(frame->hd.stream_id);
    if (s == nullptr || s->ready) return 0;
    // RFC 9113's measure of a header list: each field's name and value plus 32.
    s->header_bytes += name_length + value_length + 32;
    if (s->refused) return 0;
    if (s->header_bytes > self.settings_.max_header_list_bytes || ++s->field_count > self.limits_.max_headers) {
      s->refused =
          http::refusal{431, "headers_too_large",
                        "the header fields are larger than " + std::to_string(self.settings_.max_header_list_bytes) +
                            " bytes or more than " + std::to_string(self.limits_.max_headers) + " fields"};
      return 0;
    }
    if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers: counted, not kept
    const std::string_view name = view(name_bytes, name_length);
    const std::string_view value = view(value_bytes, value_length);
    if (name == ":method") {
      s->asked.method = value;
    } else if (name == ":path") {
      if (value.size() > self.limits_.max_target_bytes)
        s->refused = http::refusal{
            414, "uri_too_long",
            "the request target is longer than " + std::to_string(self.limits_.max_target_bytes) + " bytes"};
      else
        s->asked.target = value;
    } else if (name == ":authority") {
      s->authority = value;
    } else if (name == "expect") {
      s->expects_continue = text::equal_ignoring_case(value, "100-continue");
    } else if (!name.starts_with(':')) {
      s->asked.headers.push_back({std::string{name}, std::string{value}});
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session *, std::uint8_t, std::int32_t stream_id, const std::uint8_t *data,
                           std::size_t length, void *user_data) {
    h2_session &self = of(user_data);
    h2_stream *s = self.stream(stream_id);
    if (s == nullptr || s->ready) return 0;  // an answered stream's body is dropped
    if (s->asked.body.size() + length > self.limits_.max_body_bytes) {
      s->refused =
          http::refusal{413, "payload_too_large",
                        "the request body is larger than " + std::to_string(self.limits_.max_body_bytes) + " bytes"};
      self.make_ready(*s);
      return 0;
    }
    s->asked.body.append(view(data, length));
    return 0;
  }

  static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data) {
    h2_session &self = of(user_data);
    const bool ends_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
        if (h2_stream *s = self.stream(frame->hd.stream_id)) {
          if (ends_stream || s->refused) {
            self.make_ready(*s);
          } else if (s->expects_continue && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
            const nghttp2_nv go_on = h2_field(":status", "100");
            static_cast<void>(
                nghttp2_submit_headers(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, nullptr, &go_on, 1, nullptr));
          }
        }
        break;
      case NGHTTP2_DATA:
        if (h2_stream *s = self.stream(frame->hd.stream_id); s != nullptr && ends_stream) self.make_ready(*s);
        break;
      case NGHTTP2_RST_STREAM:
        // A reset before the answer is complete cancels it (on_stream_close) and counts against the
        // connection: resetting streams right after their headers is the rapid reset attack.
        if (h2_stream *s = self.stream(frame->hd.stream_id); s != nullptr && !s->complete())
          if (!self.resets_.take(self.settings_.max_resets_per_s, clock::now()))
            return self.reject(NGHTTP2_ENHANCE_YOUR_CALM, "http2_rapid_reset");
        break;
      case NGHTTP2_SETTINGS:
      case NGHTTP2_PING:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0 &&
            !self.control_frames_.take(self.settings_.max_control_frames_per_s, clock::now()))
          return self.reject(NGHTTP2_ENHANCE_YOUR_CALM, "http2_control_flood");
        break;
      default: break;
    }
    return 0;
  }

  static nghttp2_session *make(void *user_data, const config::http2_config &settings);

  static int on_frame_send(nghttp2_session *, const nghttp2_frame *frame, void *user_data) {
    // nghttp2 ended the session itself (a connection error: a frame out of place, bad HPACK, a
    // frame too large): counted like the floods it catches.
    h2_session &self = of(user_data);
    if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR && !self.rejected_) {
      self.rejected_ = true;
      self.host_.misbehaved("http2_protocol_error");
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session *, std::int32_t stream_id, std::uint32_t, void *user_data) {
    h2_session &self = of(user_data);
    const auto it = self.streams_.find(stream_id);
    if (it == self.streams_.end()) return 0;
    const std::shared_ptr<h2_stream> s = std::move(it->second);
    self.streams_.erase(it);
    s->detach(!s->complete());  // closed before its answer was: a reset, or the connection's end
    return 0;
  }
};

namespace {

using session_callbacks = io::unique_handle<nghttp2_session_callbacks, nghttp2_session_callbacks_del>;
using session_option = io::unique_handle<nghttp2_option, nghttp2_option_del>;

}  // namespace

nghttp2_session *h2_session::callbacks::make(void *user_data, const config::http2_config &settings) {
  nghttp2_session_callbacks *made_callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&made_callbacks) != 0) throw std::bad_alloc{};
  const session_callbacks callbacks{made_callbacks, "nghttp2_session_callbacks_new"};
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks.get(), h2_session::callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks.get(), h2_session::callbacks::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks.get(), h2_session::callbacks::on_data_chunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks.get(), h2_session::callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks.get(), h2_session::callbacks::on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks.get(), h2_session::callbacks::on_frame_send);
  nghttp2_option *made_option = nullptr;
  if (nghttp2_option_new(&made_option) != 0) throw std::bad_alloc{};
  const session_option option{made_option, "nghttp2_option_new"};
  nghttp2_option_set_max_continuations(option.get(), max_continuations);
  nghttp2_option_set_max_settings(option.get(), max_settings_entries);
  nghttp2_option_set_max_outbound_ack(option.get(), max_outbound_acks);
  // nghttp2's own reset limit stays a looser backstop behind ours, which counts only streams whose
  // answer was not complete and says so in the metrics.
  nghttp2_option_set_stream_reset_rate_limit(option.get(), 8ULL * settings.max_resets_per_s,
                                             4ULL * settings.max_resets_per_s);
  nghttp2_session *session = nullptr;
  if (const int rv = nghttp2_session_server_new2(&session, callbacks.get(), user_data, option.get()); rv != 0)
    throw std::runtime_error(std::string{"nghttp2_session_server_new2: "} + nghttp2_strerror(rv));
  return session;
}

h2_session::h2_session(h2_host &host, const config::http2_config &settings, const http::request_limits &limits,
                       h2_origin origin)
    : host_(host),
      settings_(settings),
      limits_(limits),
      origin_(std::move(origin)),
      session_(callbacks::make(this, settings), "nghttp2_session_server_new2") {
  const std::array<nghttp2_settings_entry, 5> entries{{
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings.initial_window_bytes},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, settings.max_frame_bytes},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(settings.max_header_list_bytes)},
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},  // no priority tree to keep per stream
  }};
  if (const int rv = nghttp2_submit_settings(session_.get(), NGHTTP2_FLAG_NONE, entries.data(), entries.size());
      rv != 0)
    throw std::runtime_error(std::string{"nghttp2_submit_settings: "} + nghttp2_strerror(rv));
  // The connection's window matches a stream's, so one body may use all of its own.
  if (settings.initial_window_bytes > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE)
    if (const int rv = nghttp2_session_set_local_window_size(session_.get(), NGHTTP2_FLAG_NONE, 0,
                                                             static_cast<std::int32_t>(settings.initial_window_bytes));
        rv != 0)
      throw std::runtime_error(std::string{"nghttp2_session_set_local_window_size: "} + nghttp2_strerror(rv));
}

h2_session::~h2_session() { cancel_all(); }

h2_stream *h2_session::stream(std::int32_t id) const noexcept {
  const auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void h2_session::make_ready(h2_stream &s) {
  if (s.ready) return;
  s.ready = true;
  ready_.push_back(s.shared_from_this());
}

bool h2_session::receive(std::string_view bytes) {
  busy_ = true;
  const ssize_t n =
      nghttp2_session_mem_recv(session_.get(), reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size());
  if (n < 0) {
    // Not HTTP/2, a flood nghttp2 caught (acknowledgements nobody reads), or no memory: the end.
    static_cast<void>(
        reject(NGHTTP2_PROTOCOL_ERROR, n == NGHTTP2_ERR_FLOODED ? "http2_flood" : "http2_protocol_error"));
    failed_ = n != NGHTTP2_ERR_FLOODED && n != NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  if (rejected_) {
    ready_.clear();  // a misbehaving client's last requests are not served
    busy_ = false;
    return false;
  }
  hand_on_ready();
  busy_ = false;
  return true;
}

void h2_session::hand_on_ready() {
  std::vector<std::shared_ptr<h2_stream>> complete;
  complete.swap(ready_);
  active_ = active_ || !complete.empty();
  for (const auto &s : complete) {
    if (!s->open()) continue;  // reset in the same read, or the connection closed meanwhile
    filters::request_context request;
    request.started = s->started;
    request.request = std::move(s->asked);
    if (!s->authority.empty() && !request.request.header("host"))
      request.request.headers.insert(request.request.headers.begin(), {"host", std::move(s->authority)});
    request.client_subject = origin_.client_subject;
    request.secure = origin_.secure;
    if (s->refused)
      host_.refuse(s, std::move(request), *s->refused);
    else
      host_.serve(s, std::move(request));
  }
}

bool h2_session::produce(std::string &out, std::size_t limit) {
  if (failed_) return false;
  busy_ = true;
  const std::size_t start = out.size();
  while (out.size() - start < limit) {
    const std::uint8_t *data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_.get(), &data);
    if (n < 0) {
      failed_ = true;  // out of memory: nothing more can be said
      break;
    }
    if (n == 0) break;
    out.append(reinterpret_cast<const char *>(data), static_cast<std::size_t>(n));
  }
  busy_ = false;
  return out.size() > start;
}

void h2_session::queued() {
  if (!busy_) host_.output_ready();
}

int h2_session::reject(std::uint32_t error_code, std::string_view why) {
  if (!rejected_) {
    rejected_ = true;
    host_.misbehaved(why);
    static_cast<void>(nghttp2_session_terminate_session(session_.get(), error_code));
  }
  // From a callback: nghttp2 stops reading here, instead of decoding the rest of what a flood sent
  // (it would decode every header block to keep HPACK in step). The GOAWAY still goes out.
  return NGHTTP2_ERR_CALLBACK_FAILURE;
}

void h2_session::go_away() {
  if (going_away_ || rejected_) return;
  going_away_ = true;
  static_cast<void>(nghttp2_submit_goaway(session_.get(), NGHTTP2_FLAG_NONE,
                                          nghttp2_session_get_last_proc_stream_id(session_.get()), NGHTTP2_NO_ERROR,
                                          nullptr, 0));
  queued();
}

bool h2_session::finished() const noexcept {
  return failed_ || (nghttp2_session_want_read(session_.get()) == 0 && nghttp2_session_want_write(session_.get()) == 0);
}

bool h2_session::receiving() const noexcept {
  return std::any_of(streams_.begin(), streams_.end(), [](const auto &s) { return !s.second->ready; });
}

bool h2_session::answers_stalled() const noexcept {
  return std::any_of(streams_.begin(), streams_.end(), [](const auto &s) { return s.second->stalled(); });
}

void h2_session::cancel_all() noexcept {
  ready_.clear();
  auto all = std::move(streams_);
  streams_.clear();
  for (auto &[id, s] : all) s->detach(true);
}

}  // namespace agg::front
