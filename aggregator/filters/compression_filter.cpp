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

/// A stream's encoder, counted among the streams compressed at once while it lives.
class counted_encoder final : public http::body_encoder {
 public:
  counted_encoder(std::unique_ptr<http::body_encoder> inner, std::shared_ptr<std::atomic<std::size_t>> count)
      : inner_(std::move(inner)), count_(std::move(count)) {}
  counted_encoder(const counted_encoder &) = delete;
  counted_encoder &operator=(const counted_encoder &) = delete;
  ~counted_encoder() override { count_->fetch_sub(1, std::memory_order_relaxed); }
  std::string encode(std::string_view input, bool last) override { return inner_->encode(input, last); }

 private:
  std::unique_ptr<http::body_encoder> inner_;
  std::shared_ptr<std::atomic<std::size_t>> count_;
};

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
  if (answer.streamed) {
    if (streams_->fetch_add(1, std::memory_order_relaxed) >= config_.max_streams) {
      streams_->fetch_sub(1, std::memory_order_relaxed);
      return;  // as it is: enough streams hold an encoder already
    }
    std::unique_ptr<http::body_encoder> encoder;
    try {
      encoder = http::body_encoder::make(coding, level, true);
    } catch (...) {
      streams_->fetch_sub(1, std::memory_order_relaxed);
      throw;
    }
    // exchange::stream_chunk encodes each piece with it.
    request.stream_encoder = std::make_unique<counted_encoder>(std::move(encoder), streams_);
    answer.with_header("Content-Encoding", std::string{http::to_string(coding)});
    return;
  }
  answer.body = http::body_encoder::make(coding, level)->encode(payload, true);
  answer.with_header("Content-Encoding", std::string{http::to_string(coding)});
  answer.shared_body.reset();
}

}  // namespace agg::filters
