#pragma once

#include <boost/json/value.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

#include "aggregator/config/config_error.hpp"

namespace agg::config {

/// Parses JSON text; a syntax error becomes one error with an empty path that gives the line and column.
std::variant<boost::json::value, config_error> parse_json_text(std::string_view text);

/// `value` as a person would write a config file: two-space indents, one member per line, a final newline.
std::string pretty_json(const boost::json::value &value);
/// The same for a value written `depth` levels deep in such a document (its inner lines indented
/// for that depth), without the final newline: a piece pretty_json's output is made of.
std::string pretty_json_at(const boost::json::value &value, std::size_t depth);

}  // namespace agg::config
