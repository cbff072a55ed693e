#include "aggregator/front/h2_session.hpp"

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
/// A drained answer buffer keeps at most this much capacity.
constexpr std::size_t kept_capacity = 16 * 1024;

/// Fields that belong to one HTTP/1.1 hop and are malformed in HTTP/2 (RFC 9113, 8.2.2).
bool connection_specific(std::string_view name) noexcept {
  for (const std::string_view hop : {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"})
    if (text::equal_ignoring_case(name, hop)) return true;
  return false;
}

std::string lowercase(std::string_view name) {
  std::string out{name};
  for (char &c : out) c = text::ascii_lower(c);
  return out;
}

std::string_view view(const std::uint8_t *bytes, std::size_t length) noexcept {
  return {reinterpret_cast<const char *>(bytes), length};
}

/// Fields whose value differs in every answer: kept out of HPACK's dynamic table, where they would
/// only push out the fields that repeat (content-type, vary, ...).
bool unique_per_answer(std::string_view name) noexcept {
  for (const std::string_view each : {"x-request-id", "traceresponse", "server-timing", "content-length"})
    if (name == each) return true;
  return false;
}

nghttp2_nv field(std::string_view name, std::string_view value) noexcept {
  // nghttp2 copies both (no NO_COPY flag) before nghttp2_submit_* returns.
  return nghttp2_nv{
      reinterpret_cast<std::uint8_t *>(const_cast<char *>(name.data())),
      reinterpret_cast<std::uint8_t *>(const_cast<char *>(value.data())), name.size(), value.size(),
      static_cast<std::uint8_t>(unique_per_answer(name) ? NGHTTP2_NV_FLAG_NO_INDEX : NGHTTP2_NV_FLAG_NONE)};
}

}  // namespace

/// One stream: the request as it arrives, then the responder its answer goes through, which queues
/// the answer's bytes for nghttp2 to take as the client's window allows.
class h2_stream final : public filters::responder, public std::enable_shared_from_this<h2_stream> {
 public:
  h2_stream(h2_session &session, std::int32_t id) noexcept : session_(&session), id_(id), stop_(std::nostopstate) {}

  void send(const filters::request_context &request, const http::response &answer) override;
  void send_head(const filters::request_context &request, const http::response &head) override;
  void send_chunk(std::string_view bytes) override;
  void send_end(const filters::request_context &request) override;
  [[nodiscard]] std::stop_source stop_source() override;
  [[nodiscard]] bool open() const noexcept override { return session_ != nullptr; }
  [[nodiscard]] std::string client_address() const override {
    return session_ != nullptr ? session_->host_.peer_address() : std::string{};
  }

  /// nghttp2 asks for the next DATA bytes (at most `length`).
  ssize_t read(std::uint8_t *into, std::size_t length, std::uint32_t *flags) noexcept;
  /// The whole answer went to nghttp2.
  [[nodiscard]] bool complete() const noexcept { return answered_ && ended_ && pending() == 0; }
  /// Answer bytes wait (for the client's window).
  [[nodiscard]] bool stalled() const noexcept { return pending() > 0; }
  /// The stream is over: nothing more goes to the session; `cancel` stops what is preparing its answer.
  void detach(bool cancel) noexcept;

  http::request asked;  // the request as it arrives
  clock::time_point started;
  std::string authority;
  std::size_t header_bytes = 0;
  std::size_t field_count = 0;
  std::optional<http::refusal> refused;
  bool expects_continue = false;
  bool ready = false;  // the request is complete (or refused) and handed on, or about to be

 private:
  [[nodiscard]] std::size_t pending() const noexcept {
    return shared_ ? shared_->size() - shared_from_ : out_.size() - out_from_;
  }
  void submit(const http::response &answer, std::optional<std::size_t> length, bool body);
  /// More body bytes, or its end: nghttp2 asks again.
  void resume();

  h2_session *session_;
  std::int32_t id_;
  std::string out_;  // answer bytes not taken yet, from out_from_
  std::size_t out_from_ = 0;
  std::shared_ptr<const std::string> shared_;  // a shared body, from shared_from_
  std::size_t shared_from_ = 0;
  bool answered_ = false;
  bool ended_ = false;
  bool deferred_ = false;  // nghttp2 waits for resume()
  std::stop_source stop_;
};

void h2_stream::send(const filters::request_context &request, const http::response &answer) {
  if (session_ == nullptr || answered_) return;
  answered_ = true;
  ended_ = true;
  const bool no_content = answer.status == 204 || answer.status == 304;
  std::optional<std::size_t> length;
  if (!no_content && !answer.length_unknown) length = answer.payload().size();
  const bool body = !request.head_only() && !no_content && !answer.payload().empty();
  if (body) {
    if (answer.shared_body)
      shared_ = answer.shared_body;  // not copied: nghttp2 takes it from where it lies
    else
      out_ = answer.body;
    session_->host_.held(0, pending());
  }
  submit(answer, length, body);
}

void h2_stream::send_head(const filters::request_context &request, const http::response &head) {
  if (session_ == nullptr || answered_) return;
  answered_ = true;
  ended_ = request.head_only();
  submit(head, std::nullopt, !ended_);
}

void h2_stream::send_chunk(std::string_view bytes) {
  if (session_ == nullptr || !answered_ || ended_ || bytes.empty()) return;  // only between head and end
  const std::size_t before = pending();
  out_.append(bytes);
  session_->host_.held(before, pending());
  resume();
}

void h2_stream::send_end(const filters::request_context &) {
  if (session_ == nullptr || !answered_ || ended_) return;
  ended_ = true;
  resume();
}

std::stop_source h2_stream::stop_source() {
  if (!stop_.stop_possible()) {
    stop_ = std::stop_source{};
    if (session_ == nullptr) stop_.request_stop();  // reset or closed already
  }
  return stop_;
}

void h2_stream::submit(const http::response &answer, std::optional<std::size_t> length, bool body) {
  const bool no_content = answer.status == 204 || answer.status == 304;
  std::array<char, 8> status{};
  const auto status_end = std::to_chars(status.data(), status.data() + status.size(), answer.status).ptr;
  std::vector<std::string> texts;  // lowered names and the length: reserved whole, so none moves
  texts.reserve(answer.headers.size() + 1);
  std::vector<nghttp2_nv> fields;
  fields.reserve(answer.headers.size() + 3);
  fields.push_back(field(":status", {status.data(), static_cast<std::size_t>(status_end - status.data())}));
  if (!no_content) fields.push_back(field("content-type", answer.content_type));
  if (length) fields.push_back(field("content-length", texts.emplace_back(std::to_string(*length))));
  for (const auto &h : answer.headers)
    if (!connection_specific(h.name)) fields.push_back(field(texts.emplace_back(lowercase(h.name)), h.value));
  nghttp2_data_provider provider{};
  provider.source.ptr = this;
  provider.read_callback = [](nghttp2_session *, std::int32_t, std::uint8_t *into, std::size_t wanted,
                              std::uint32_t *flags, nghttp2_data_source *source, void *) -> ssize_t {
    return static_cast<h2_stream *>(source->ptr)->read(into, wanted, flags);
  };
  h2_session &session = *session_;
  if (nghttp2_submit_response(session.session_.get(), id_, fields.data(), fields.size(), body ? &provider : nullptr) !=
      0)
    static_cast<void>(
        nghttp2_submit_rst_stream(session.session_.get(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR));
  session.queued();
}

void h2_stream::resume() {
  h2_session &session = *session_;
  if (deferred_) {
    deferred_ = false;
    static_cast<void>(nghttp2_session_resume_data(session.session_.get(), id_));
  }
  session.queued();
}

ssize_t h2_stream::read(std::uint8_t *into, std::size_t length, std::uint32_t *flags) noexcept {
  const std::size_t before = pending();
  const std::size_t n = std::min(length, before);
  if (shared_) {
    std::memcpy(into, shared_->data() + shared_from_, n);
    shared_from_ += n;
  } else {
    std::memcpy(into, out_.data() + out_from_, n);
    out_from_ += n;
    if (out_from_ == out_.size()) {
      out_.clear();
      out_from_ = 0;
      if (out_.capacity() > kept_capacity) std::string{}.swap(out_);
    }
  }
  if (session_ != nullptr) session_->host_.held(before, pending());
  if (pending() == 0) {
    if (ended_) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
    } else if (n == 0) {
      deferred_ = true;  // the next chunk resumes it
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return static_cast<ssize_t>(n);
}

void h2_stream::detach(bool cancel) noexcept {
  if (session_ == nullptr) return;
  session_->host_.held(pending(), 0);
  session_ = nullptr;
  if (cancel) {
    if (!stop_.stop_possible()) stop_ = std::stop_source{};
    stop_.request_stop();  // after detaching: what its callbacks answer goes nowhere
  }
}

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
            const nghttp2_nv go_on = field(":status", "100");
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
