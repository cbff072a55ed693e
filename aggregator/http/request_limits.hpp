#pragma once

#include <chrono>
#include <cstddef>

namespace agg::http {

/// What one request may make a server hold and how long it may take to arrive: checked as the bytes
/// come in, so a request past a bound is refused before the rest of it is read.
struct request_limits {
  std::size_t max_head_bytes = 16 * 1024;   ///< request line and header fields together (431)
  std::size_t max_headers = 100;            ///< header fields, trailers included (431)
  std::size_t max_target_bytes = 8 * 1024;  ///< the request target (414)
  std::size_t max_body_bytes = 1 << 20;     ///< the body under any framing (413)
  /// From a request's first byte to its last: not reset by each byte, so a client that drips its
  /// head one byte at a time is cut off like one that sends nothing.
  std::chrono::milliseconds request_timeout{10'000};
};

}  // namespace agg::http
