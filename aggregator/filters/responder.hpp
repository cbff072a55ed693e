#pragma once

#include <stop_token>
#include <string>
#include <string_view>

#include "aggregator/filters/request_context.hpp"
#include "aggregator/http/response.hpp"

namespace agg::filters {

/// Where a request's answer goes: the connection it came on (an HTTP/1.1 connection on a loop, or a
/// control-plane connection on a worker thread), which frames and writes it. Answers reach it only
/// through an exchange, after the filters' way out.
class responder {
 public:
  virtual ~responder() = default;

  /// Writes a whole answer (the head only for HEAD), then reads the next request or closes.
  virtual void send(const request_context &request, const http::response &answer) = 0;
  /// Writes the head of a streamed answer: chunks follow, then send_end().
  virtual void send_head(const request_context &request, const http::response &head) = 0;
  /// Writes one chunk of a streamed answer at once (nothing when `bytes` is empty).
  virtual void send_chunk(std::string_view bytes) = 0;
  /// Ends a streamed answer, then reads on or closes like send().
  virtual void send_end(const request_context &request) = 0;
  /// Cancelled when the client goes away while its request is served.
  [[nodiscard]] virtual std::stop_source stop_source() = 0;
  /// False once nobody is left to read an answer.
  [[nodiscard]] virtual bool open() const noexcept = 0;
  /// The client's address as the socket says (numeric), asked only by what needs it (a job's owner).
  [[nodiscard]] virtual std::string client_address() const = 0;
};

}  // namespace agg::filters
