#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "aggregator/http/request.hpp"
#include "aggregator/http/request_limits.hpp"

namespace agg::http {

/// Reads HTTP/1.1 requests off one connection with Boost.Beast's parser, one after another
/// (pipelining), and refuses what a server must not take: past a limit (413, 414, 431), with
/// ambiguous framing (Content-Length with Transfer-Encoding, duplicate or malformed lengths, a
/// transfer coding other than chunked: 400), a body on a method that takes none (400), a
/// content-encoded body (415), an expectation other than 100-continue (417), an unknown method (501)
/// or another HTTP version (505). A body over the limit is refused as soon as its length is known,
/// before it is read. Bytes may come in any slices; whatever follows a complete request stays
/// buffered for the next one. Not thread-safe: one reader per connection.
class request_reader {
 public:
  explicit request_reader(const request_limits &limits);
  request_reader(const request_reader &) = delete;
  request_reader &operator=(const request_reader &) = delete;
  ~request_reader();

  /// Where the current request stands after the bytes seen so far.
  enum class progress {
    need_more,          ///< read more from the client
    continue_expected,  ///< the head asks for `100 Continue` before the body: send it, then read on
    complete,           ///< take() it
    refused,            ///< answer why(), then close the connection
  };

  /// Takes bytes received from the client (may be empty: parses what is buffered already).
  progress feed(std::string_view bytes);
  /// The complete request; the reader then starts on the next one (call feed({}) for bytes that
  /// arrived with this one).
  request take();
  /// Why the request was refused, after feed() said so.
  [[nodiscard]] const refusal &why() const noexcept;
  /// The current request as far as it was parsed (method and target once its request line arrived):
  /// what a log line says of a refused request.
  [[nodiscard]] const request &partial() const noexcept;

  /// True once a byte of the current request has arrived: its request_timeout runs from then.
  [[nodiscard]] bool started() const noexcept;
  /// True when bytes are buffered that no request has consumed yet (a pipelined request).
  [[nodiscard]] bool has_buffered() const noexcept { return !pending_.empty(); }

 private:
  class parser;
  progress parse(std::string_view input, std::size_t &consumed);

  request_limits limits_;
  std::unique_ptr<parser> parser_;
  std::string pending_;  // received, not consumed by the parser yet
  bool continue_reported_ = false;
};

}  // namespace agg::http
