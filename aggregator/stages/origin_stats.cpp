#include "aggregator/stages/origin_stats.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace agg::stages {

std::string_view to_string(call_result result) noexcept {
  switch (result) {
    case call_result::ok: return "ok";
    case call_result::http_4xx: return "http_4xx";
    case call_result::http_5xx: return "http_5xx";
    case call_result::http_other: return "http_other";
    case call_result::timeout: return "timeout";
    case call_result::connect: return "connect";
    case call_result::tls: return "tls";
    case call_result::too_large: return "too_large";
    case call_result::cancelled: return "cancelled";
    case call_result::transport: return "transport";
  }
  return "transport";
}

call_result result_of(const client::upstream_reply &reply) noexcept {
  switch (reply.error) {
    case client::transfer_error::none: break;
    case client::transfer_error::timeout: return call_result::timeout;
    case client::transfer_error::connect: return call_result::connect;
    case client::transfer_error::tls: return call_result::tls;
    case client::transfer_error::too_large: return call_result::too_large;
    case client::transfer_error::cancelled: return call_result::cancelled;
    case client::transfer_error::transport:
    case client::transfer_error::circuit_open: return call_result::transport;
  }
  if (reply.status >= 200 && reply.status <= 299) return call_result::ok;
  if (reply.status >= 400 && reply.status <= 499) return call_result::http_4xx;
  if (reply.status >= 500 && reply.status <= 599) return call_result::http_5xx;
  return call_result::http_other;
}

void origin_stats::record(const client::upstream_reply &reply) {
  const call_result result = result_of(reply);
  const auto took = reply.finished - reply.started;
  const double seconds = std::chrono::duration<double>(took).count();
  std::size_t bucket = 0;
  while (bucket < latency_buckets.size() && seconds > latency_buckets[bucket]) ++bucket;
  const std::lock_guard lock{mutex_};
  ++counts_.calls[static_cast<std::size_t>(result)];
  if (result == call_result::cancelled) return;
  if (bucket < latency_buckets.size()) ++counts_.buckets[bucket];
  ++counts_.timed;
  counts_.seconds += seconds;
  if (result != call_result::ok) return;
  recent_ns_[successes_ % recent_size] = std::chrono::duration_cast<std::chrono::nanoseconds>(took).count();
  ++successes_;
}

std::optional<std::chrono::nanoseconds> origin_stats::latency_percentile(double p) const {
  constexpr std::uint64_t recompute_every = 32;
  const std::lock_guard lock{mutex_};
  if (successes_ < min_samples) return std::nullopt;
  if (cached_fraction_ != p || successes_ - cached_at_ >= recompute_every) {
    const std::size_t filled = static_cast<std::size_t>(std::min<std::uint64_t>(successes_, recent_size));
    std::vector<std::int64_t> sorted(recent_ns_.begin(), recent_ns_.begin() + static_cast<std::ptrdiff_t>(filled));
    const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(filled))) - 1;
    const auto nth = sorted.begin() + static_cast<std::ptrdiff_t>(std::min(rank, filled - 1));
    std::nth_element(sorted.begin(), nth, sorted.end());
    cached_ns_ = *nth;
    cached_fraction_ = p;
    cached_at_ = successes_;
  }
  return std::chrono::nanoseconds{cached_ns_};
}

origin_stats::snapshot origin_stats::read() const {
  const std::lock_guard lock{mutex_};
  return counts_;
}

}  // namespace agg::stages
