#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace agg::calls {

/// What became of one upstream call: the one list from the transfer to the response, so that no
/// layer translates another's. The transfer says which response arrived (ok: a 2xx, http_status:
/// any other) or why none did; a stage adds circuit_open; settling a 2xx body that is not JSON makes
/// it invalid_json; the last three are the plan's own, for calls never sent: an entry they use
/// failed (skipped), a value their templates take is missing (missing_value; also a required
/// entry whose shaping found nothing), or a for-each found more values than its `max_items` or
/// would pass the route's `max_calls` (too_many_items).
enum class outcome_kind : unsigned char {
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

/// The names responses, logs and metrics use, in the enum's order.
inline constexpr std::array<std::string_view, 13> outcome_kind_names{
    "ok",        "timeout",   "connect",      "tls",     "http_status",   "invalid_json",  "too_large",
    "cancelled", "transport", "circuit_open", "skipped", "missing_value", "too_many_items"};
inline constexpr std::size_t outcome_kind_count = outcome_kind_names.size();

constexpr std::string_view to_string(outcome_kind kind) noexcept {
  return outcome_kind_names[static_cast<std::size_t>(kind)];
}
static_assert(to_string(outcome_kind::too_many_items) == "too_many_items", "one name per kind, in order");

}  // namespace agg::calls
