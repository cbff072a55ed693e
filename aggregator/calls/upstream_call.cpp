#include "aggregator/calls/upstream_call.hpp"

#include <boost/url/parse.hpp>

namespace agg::calls {

std::string_view upstream_call::origin() const noexcept {
  const std::string_view whole{url};
  if (origin_length != 0) return whole.substr(0, origin_length);
  const auto parsed = boost::urls::parse_uri(whole);
  if (!parsed) return whole;
  return whole.substr(0, parsed->encoded_origin().size());
}

std::string byte_budget::spent_detail() const {
  if (pool_ran_out_.load(std::memory_order_relaxed))
    return "the job store is full (jobs.max_bytes): this call and the ones after it were cut off";
  return "the aggregation's responses reached max_response_bytes (" + std::to_string(limit_) +
         " bytes): this call and the ones after it were cut off";
}

void set_response_status(upstream_reply &reply, long status) {
  reply.status = status;
  if (status >= 200 && status <= 299) {
    reply.kind = outcome_kind::ok;
    return;
  }
  reply.kind = outcome_kind::http_status;
  reply.error_detail = "upstream answered HTTP " + std::to_string(status);
}

upstream_reply failed_reply(outcome_kind kind, std::string_view detail, std::chrono::steady_clock::time_point started) {
  upstream_reply reply;
  reply.kind = kind;
  reply.error_detail = std::string{detail};
  reply.started = started;
  reply.finished = std::chrono::steady_clock::now();
  return reply;
}

}  // namespace agg::calls
