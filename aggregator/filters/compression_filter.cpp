#include "aggregator/filters/compression_filter.hpp"

#include <algorithm>
#include <array>

#include "aggregator/text/character_rules.hpp"

namespace agg::filters {

namespace {

/// Text that compresses: JSON, NDJSON, server-sent events, the page's files, the metrics.
bool compressible(std::string_view type) noexcept {
  constexpr std::array types{"application/json", "application/x-ndjson", "text/", "application/javascript",
                             "image/svg+xml"};
  return std::any_of(types.begin(), types.end(), [type](std::string_view t) { return type.starts_with(t); });
}

bool has_header(const http::response &answer, std::string_view name) noexcept {
  return std::any_of(answer.headers.begin(), answer.headers.end(),
                     [name](const auto &h) { return text::equal_ignoring_case(h.name, name); });
}

}  // namespace

compression_filter::compression_filter(config::compression_config config) : config_(std::move(config)) {
  const auto offers = [this](std::string_view coding) {
    return std::find(config_.encodings.begin(), config_.encodings.end(), coding) != config_.encodings.end();
  };
  offered_ = {.gzip = offers("gzip"), .br = offers("br"), .zstd = offers("zstd")};
}

void compression_filter::on_response(request_context &request, http::response &answer) const {
  if (!config_.enabled || request.head_only() || answer.status < 200 || answer.status == 204 || answer.status == 304 ||
      !compressible(answer.content_type) || has_header(answer, "Content-Encoding"))
    return;
  const std::string_view payload = answer.payload();
  if (!answer.streamed && payload.size() < config_.min_bytes) return;
  answer.with_header("Vary", "Accept-Encoding");
  const http::content_coding coding = http::choose_coding(request.request.joined("Accept-Encoding"), offered_);
  if (coding == http::content_coding::identity) return;
  const int level = coding == http::content_coding::gzip ? config_.gzip_level
                    : coding == http::content_coding::br ? config_.br_level
                                                         : config_.zstd_level;
  auto encoder = http::body_encoder::make(coding, level);
  answer.with_header("Content-Encoding", std::string{http::to_string(coding)});
  if (answer.streamed) {
    request.stream_encoder = std::move(encoder);  // exchange::stream_chunk encodes each piece
    return;
  }
  answer.body = encoder->encode(payload, true);
  answer.shared_body.reset();
}

}  // namespace agg::filters
