#include "aggregator/stages/origin_stats.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace agg::stages {

namespace {

constexpr std::array<std::string_view, 3> http_class_labels{"http_4xx", "http_5xx", "http_other"};

}  // namespace

void origin_outcomes::count(const calls::upstream_reply &reply) noexcept {
  ++by_kind[static_cast<std::size_t>(reply.kind)];
  if (reply.kind != calls::outcome_kind::http_status) return;
  const std::size_t http_class = reply.status >= 400 && reply.status <= 499   ? 0
                                 : reply.status >= 500 && reply.status <= 599 ? 1
                                                                              : 2;
  ++http_by_class[http_class];
}

void origin_outcomes::each(const std::function<void(std::string_view, std::uint64_t)> &visit) const {
  for (std::size_t kind = 0; kind < by_kind.size(); ++kind) {
    if (by_kind[kind] == 0) continue;
    if (static_cast<calls::outcome_kind>(kind) != calls::outcome_kind::http_status) {
      visit(calls::outcome_kind_names[kind], by_kind[kind]);
      continue;
    }
    for (std::size_t c = 0; c < http_by_class.size(); ++c)
      if (http_by_class[c] != 0) visit(http_class_labels[c], http_by_class[c]);
  }
}

std::uint64_t origin_outcomes::labelled(std::string_view label) const {
  std::uint64_t found = 0;
  each([&found, label](std::string_view name, std::uint64_t n) {
    if (name == label) found = n;
  });
  return found;
}

void origin_stats::record(const calls::upstream_reply &reply) {
  const auto took = reply.finished - reply.started;
  const double seconds = std::chrono::duration<double>(took).count();
  std::size_t bucket = 0;
  while (bucket < latency_buckets.size() && seconds > latency_buckets[bucket]) ++bucket;
  const std::lock_guard lock{mutex_};
  counts_.calls.count(reply);
  if (reply.kind == calls::outcome_kind::cancelled) return;
  if (bucket < latency_buckets.size()) ++counts_.buckets[bucket];
  ++counts_.timed;
  counts_.seconds += seconds;
  if (reply.kind != calls::outcome_kind::ok) return;
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
