#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agg::http {

/// The header that counts aggregators a request has passed through.
inline constexpr std::string_view hops_header = "X-Aggregator-Hops";

/// This process's `Via` entry, `1.1 aggregator-<random id>`, made once: every upstream call
/// carries it after the `Via` of the request that made it.
std::string_view instance_via();

/// Why a request with these `Via` and hop-count headers must be refused (508 Loop Detected): it
/// already passed through this instance, or through `max_hops` aggregators; nullopt when it may go
/// on. A hop count that is not a number counts as none.
std::optional<std::string> loop_refusal(std::optional<std::string_view> via, std::optional<std::string_view> hops,
                                        unsigned max_hops);

/// The header lines every upstream call of such a request carries: `Via` with this instance
/// appended, and the hop count plus one.
std::vector<std::string> hop_lines(std::optional<std::string_view> via, std::optional<std::string_view> hops);

}  // namespace agg::http
