#pragma once

#include <cstddef>
#include <string_view>

namespace agg::fanout {

/// What became of one upstream call, as the response reports it. The last three are never sent: a
/// call whose entry uses one that failed (skipped), whose templates take a value the body they read
/// lacks (missing_value; also a required entry whose shaping found nothing), or whose for-each found
/// more values than its `max_items` or would take the aggregation past the route's `max_calls`
/// (too_many_items).
enum class outcome_kind {
  ok,
  timeout,
  connect,
  tls,
  http_status,
  invalid_json,
  too_large,
  cancelled,
  transport,
  circuit_open,
  skipped,
  missing_value,
  too_many_items,
};
inline constexpr std::size_t outcome_kind_count = static_cast<std::size_t>(outcome_kind::too_many_items) + 1;
std::string_view to_string(outcome_kind kind) noexcept;

}  // namespace agg::fanout
