#include "aggregator/front/h2_stream.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <vector>

#include "aggregator/front/h2_session.hpp"
#include "aggregator/text/character_rules.hpp"

namespace agg::front {

namespace {

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

/// Fields whose value differs in every answer: kept out of HPACK's dynamic table, where they would
/// only push out the fields that repeat (content-type, vary, ...).
bool unique_per_answer(std::string_view name) noexcept {
  for (const std::string_view each : {"x-request-id", "traceresponse", "server-timing", "content-length"})
    if (name == each) return true;
  return false;
}

}  // namespace

nghttp2_nv h2_field(std::string_view name, std::string_view value) noexcept {
  // nghttp2 copies both (no NO_COPY flag) before nghttp2_submit_* returns.
  return nghttp2_nv{
      reinterpret_cast<std::uint8_t *>(const_cast<char *>(name.data())),
      reinterpret_cast<std::uint8_t *>(const_cast<char *>(value.data())), name.size(), value.size(),
      static_cast<std::uint8_t>(unique_per_answer(name) ? NGHTTP2_NV_FLAG_NO_INDEX : NGHTTP2_NV_FLAG_NONE)};
}

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

std::string h2_stream::client_address() const {
  return session_ != nullptr ? session_->host_.peer_address() : std::string{};
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
  fields.push_back(h2_field(":status", {status.data(), static_cast<std::size_t>(status_end - status.data())}));
  if (!no_content) fields.push_back(h2_field("content-type", answer.content_type));
  if (length) fields.push_back(h2_field("content-length", texts.emplace_back(std::to_string(*length))));
  for (const auto &h : answer.headers)
    if (!connection_specific(h.name)) fields.push_back(h2_field(texts.emplace_back(lowercase(h.name)), h.value));
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

}  // namespace agg::front
