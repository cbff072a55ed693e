#include "aggregator/quota/rate_limiter.hpp"

#include <algorithm>

namespace agg::quota {

decision rate_limiter::charge(const std::string &key, double units, const rate &r) {
  using seconds = std::chrono::duration<double>;
  const auto interval = seconds{1.0 / r.per_second};
  const auto tolerance = interval * r.burst;  // what a full burst spans
  decision d;
  if (units > r.burst) {
    d.never_fits = true;
    return d;
  }
  const clock::time_point now = now_();
  const std::lock_guard lock{mutex_};
  clock::time_point &tat = tats_.find_or_add(key, [now] { return now; });
  const clock::time_point start = std::max(tat, now);
  const clock::time_point next = start + std::chrono::duration_cast<clock::duration>(interval * units);
  const seconds ahead = next - now;  // how far past now the key's charges reach
  if (ahead > tolerance) {
    d.retry_after = ahead - tolerance;
    d.remaining = std::max(0.0, (tolerance - seconds{start - now}) / interval);
    d.reset = start - now;
    return d;
  }
  tat = next;
  d.admitted = true;
  d.remaining = std::max(0.0, (tolerance - ahead) / interval);
  d.reset = ahead;
  return d;
}

std::size_t rate_limiter::keys() const {
  const std::lock_guard lock{mutex_};
  return tats_.size();
}

std::size_t rate_limiter::forgotten() const {
  const std::lock_guard lock{mutex_};
  return tats_.dropped();
}

}  // namespace agg::quota
