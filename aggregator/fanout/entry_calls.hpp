#pragma once

#include <boost/json/value.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "aggregator/calls/upstream_call.hpp"
#include "aggregator/fanout/fan_out_plan.hpp"

namespace agg::fanout {

/// Why an entry's calls could not be planned; the one slot it then gets says so.
struct planning_failure {
  calls::outcome_kind kind = calls::outcome_kind::missing_value;
  std::string message;
};

/// The named result of a finished entry (its body, or the array of its bodies), by entry index;
/// null when it has none.
using entry_values = std::function<const boost::json::value *(std::size_t entry)>;

/// Appends the calls of route entry `entry` to `plan`: one, `num` repetitions, or one per value its
/// `for_each` finds (or per batch of them) in the entry it reads. Slots take request parameters,
/// `{i}`, `{num}`, `{item}`, `{items}` and other entries' values through `values`; in URLs they are
/// percent-encoded, in headers they must hold no line break, in a body template a slot that is the
/// whole string keeps its value's JSON type (every other is text inside a JSON string). Appends
/// nothing and says why when a value is missing or unusable, or a for-each finds too many.
std::optional<planning_failure> plan_entry(fan_out_plan &plan, std::size_t entry, const entry_values &values);

/// Appends one slot for route entry `entry` that is not sent, because of `why` (it failed to plan,
/// or what it uses failed); returns its index. Its URL is the entry's template.
std::size_t plan_unsent(fan_out_plan &plan, std::size_t entry, calls::outcome_kind why);

/// The values `pointer` finds in `value`, where a `*` token stands for every element of an array:
/// `/items/*/id` gives each item's id (items without one give nothing).
/// The text of a scalar a template takes: a string as it is, a number or a boolean as JSON writes
/// it; nullopt for null, an object or an array.
std::optional<std::string> scalar_text(const boost::json::value &v);

std::vector<const boost::json::value *> values_at(const boost::json::value &value, std::string_view pointer);

}  // namespace agg::fanout
