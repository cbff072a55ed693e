#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agg::http {

/// The hop count header earlier versions sent with every upstream call. It is still read from a
/// request (the larger of it and the aggregators its `Via` names counts) and never forwarded, but
/// no longer sent: the `Via` entries say the same, and the 22 bytes cost every call 3 % of its
/// instructions in libcurl's request formatting.
inline constexpr std::string_view hops_header = "X-Aggregator-Hops";

/// This process's `Via` entry, `1.1 aggregator-<random id>`, made once: every upstream call
/// carries it after the `Via` of the request that made it.
std::string_view instance_via();

/// The aggregators a `Via` header names: its entries whose received-by starts `aggregator-`.
unsigned aggregators_in(std::string_view via) noexcept;

/// Why a request with these `Via` and hop-count headers must be refused (508 Loop Detected): it
/// already passed through this instance, or through `max_hops` aggregators (those its `Via` names,
/// or its hop count when that is more); nullopt when it may go on. A hop count that is not a number
/// counts as none.
std::optional<std::string> loop_refusal(std::optional<std::string_view> via, std::optional<std::string_view> hops,
                                        unsigned max_hops);

/// The header line every upstream call of such a request carries: its `Via` with this instance
/// appended.
std::vector<std::string> hop_lines(std::optional<std::string_view> via);

}  // namespace agg::http
