#include "aggregator/client/upstream_call.hpp"

#include <boost/url/parse.hpp>

namespace agg::client {

std::string_view upstream_call::origin() const noexcept {
  const std::string_view whole{url};
  if (origin_length != 0) return whole.substr(0, origin_length);
  const auto parsed = boost::urls::parse_uri(whole);
  if (!parsed) return whole;
  return whole.substr(0, parsed->encoded_origin().size());
}

std::string_view to_string(transfer_error error) noexcept {
  switch (error) {
    case transfer_error::none: return "none";
    case transfer_error::timeout: return "timeout";
    case transfer_error::connect: return "connect";
    case transfer_error::tls: return "tls";
    case transfer_error::too_large: return "too_large";
    case transfer_error::cancelled: return "cancelled";
    case transfer_error::transport: return "transport";
    case transfer_error::circuit_open: return "circuit_open";
  }
  return "transport";
}

std::string budget_spent_detail(std::size_t limit) {
  return "the aggregation's responses reached max_response_bytes (" + std::to_string(limit) +
         " bytes): this call and the ones after it were cut off";
}

upstream_reply failed_reply(transfer_error error, std::string_view detail,
                            std::chrono::steady_clock::time_point started) {
  upstream_reply reply;
  reply.error = error;
  reply.error_detail = std::string{detail};
  reply.started = started;
  reply.finished = std::chrono::steady_clock::now();
  return reply;
}

}  // namespace agg::client
