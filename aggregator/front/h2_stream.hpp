#pragma once

#include <nghttp2/nghttp2.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "aggregator/filters/request_context.hpp"
#include "aggregator/filters/responder.hpp"
#include "aggregator/http/request.hpp"

namespace agg::front {

class h2_session;

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
  [[nodiscard]] std::string client_address() const override;

  /// nghttp2 asks for the next DATA bytes (at most `length`).
  ssize_t read(std::uint8_t *into, std::size_t length, std::uint32_t *flags) noexcept;
  /// The whole answer went to nghttp2.
  [[nodiscard]] bool complete() const noexcept { return answered_ && ended_ && pending() == 0; }
  /// Answer bytes wait (for the client's window).
  [[nodiscard]] bool stalled() const noexcept { return pending() > 0; }
  /// The stream is over: nothing more goes to the session; `cancel` stops what is preparing its answer.
  void detach(bool cancel) noexcept;

  http::request asked;  // the request as it arrives
  std::chrono::steady_clock::time_point started;
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

/// One header field for nghttp2_submit_* (which copies it); a value that differs in every answer
/// is kept out of HPACK's dynamic table.
nghttp2_nv h2_field(std::string_view name, std::string_view value) noexcept;

}  // namespace agg::front
