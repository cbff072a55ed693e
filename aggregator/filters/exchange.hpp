#pragma once

#include <cstddef>
#include <memory>
#include <stop_token>
#include <string_view>

#include "aggregator/filters/request_context.hpp"
#include "aggregator/filters/responder.hpp"
#include "aggregator/http/response.hpp"

namespace agg::client {
class upstream_loop;
}

namespace agg::filters {

class filter_chain;

/// A request being served: its context, the chain it passed, where it runs and its way back. The
/// chain hands it to the filters, then by value to its endpoint, which answers through it now or
/// when its coroutine ends; every answer takes the filters' way out (reverse order) before the
/// responder writes it. Move-only; on the thread of the request's connection.
class exchange {
 public:
  friend class filter_chain;
  exchange(const filter_chain &chain, std::shared_ptr<responder> to, request_context request,
           client::upstream_loop *loop) noexcept
      : chain_(&chain), to_(std::move(to)), request_(std::move(request)), loop_(loop) {}
  exchange(exchange &&) noexcept = default;
  exchange &operator=(exchange &&) noexcept = default;
  exchange(const exchange &) = delete;
  exchange &operator=(const exchange &) = delete;

  [[nodiscard]] request_context &request() noexcept { return request_; }
  [[nodiscard]] const request_context &request() const noexcept { return request_; }
  /// The event loop the request is served on, whose upstream side makes its calls; null on the
  /// control plane, which makes none.
  [[nodiscard]] client::upstream_loop *loop() const noexcept { return loop_; }
  /// Cancelled when the client goes away (made on first use).
  [[nodiscard]] std::stop_source stop_source() { return to_->stop_source(); }
  /// The client's address (a syscall: ask only when needed).
  [[nodiscard]] std::string client_address() const { return to_->client_address(); }

  /// Answers with `answer`, through the filters' way out.
  void respond(http::response answer);
  /// A filter that must wait before it decides (a round trip to Redis) moves the exchange out of
  /// its on_request into the coroutine that waits (Envoy's StopIteration); once it has decided it
  /// answers, or hands the request on to the filters after it with proceed().
  void proceed() &&;
  /// True once moved from: the filter that had it took it over.
  [[nodiscard]] bool taken() const noexcept { return to_ == nullptr; }
  /// Starts a streamed answer with `head` (its body follows in chunks), through the way out.
  void begin_stream(http::response head);
  /// One chunk of the streamed answer, sent at once (encoded and flushed, when it is compressed).
  void stream_chunk(std::string_view bytes);
  /// Ends the streamed answer; the filters hear that it is complete.
  void end_stream();

 private:
  const filter_chain *chain_;
  std::shared_ptr<responder> to_;
  request_context request_;
  client::upstream_loop *loop_;
  std::size_t next_filter_ = 0;  ///< where proceed() goes on in the chain
  int streamed_status_ = 0;
  std::size_t streamed_bytes_ = 0;
};

/// What the log and the metrics say of an answer whose client went away before it (nginx's
/// convention): no upstream failed, and no byte reached anyone.
inline constexpr int client_closed_request = 499;

}  // namespace agg::filters
