#pragma once

#include <atomic>
#include <memory>

#include "aggregator/config/service_config.hpp"
#include "aggregator/filters/request_filter.hpp"
#include "aggregator/http/body_encoder.hpp"

namespace agg::filters {

/// Compresses answers by the request's Accept-Encoding (`server.compression`): a whole answer of a
/// compressible type and at least `min_bytes` is encoded on the way out; a stream gets an encoder
/// that flushes each piece as it is sent (exchange::stream_chunk), while fewer than `max_streams`
/// are (past it a stream goes as it is: bounded memory). Never for HEAD, 1xx, 204 or 304,
/// nor for an answer that already has a Content-Encoding. Compressible answers say
/// `Vary: Accept-Encoding`. Last on the way out but for the access log: it encodes what the other
/// filters made (`elapsed` included).
class compression_filter final : public request_filter {
 public:
  explicit compression_filter(config::compression_config config);
  void on_response(request_context &request, http::response &answer) const override;

 private:
  config::compression_config config_;
  http::enabled_codings offered_;
  /// Streams being compressed, against max_streams; shared with their encoders, which count down.
  std::shared_ptr<std::atomic<std::size_t>> streams_ = std::make_shared<std::atomic<std::size_t>>(0);
};

}  // namespace agg::filters
