#include "aggregator/stages/cache_control.hpp"

#include <charconv>
#include <cstdint>

#include "aggregator/text/character_rules.hpp"

namespace agg::stages {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// delta-seconds; a value past 2^31 is 2^31 (RFC 9111 §1.2.2). Nullopt when it is not digits.
std::optional<std::chrono::seconds> delta_seconds(std::string_view text) {
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') text = text.substr(1, text.size() - 2);
  if (text.empty()) return std::nullopt;
  for (const char c : text)
    if (c < '0' || c > '9') return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  constexpr std::uint64_t cap = 1ULL << 31;
  if (ec == std::errc::result_out_of_range || value > cap) value = cap;
  return std::chrono::seconds{static_cast<std::int64_t>(value)};
}

}  // namespace

cache_directives parse_cache_control(std::string_view field) {
  cache_directives out;
  while (!field.empty()) {
    // Commas inside a quoted argument (`private="a, b"`) do not end the directive.
    std::size_t end = 0;
    bool quoted = false;
    for (; end < field.size(); ++end) {
      if (field[end] == '"') quoted = !quoted;
      if (field[end] == ',' && !quoted) break;
    }
    const std::string_view directive = trim(field.substr(0, end));
    field = end < field.size() ? field.substr(end + 1) : std::string_view{};
    const std::size_t eq = directive.find('=');
    const std::string_view name = trim(directive.substr(0, eq));
    const std::string_view argument =
        eq == std::string_view::npos ? std::string_view{} : trim(directive.substr(eq + 1));
    if (text::equal_ignoring_case(name, "no-store")) {
      out.no_store = true;
    } else if (text::equal_ignoring_case(name, "no-cache")) {
      out.no_cache = true;
    } else if (text::equal_ignoring_case(name, "private")) {
      out.is_private = true;
    } else if (text::equal_ignoring_case(name, "max-age")) {
      out.max_age = delta_seconds(argument);
      if (!out.max_age) out.no_cache = true;
    } else if (text::equal_ignoring_case(name, "s-maxage")) {
      out.s_maxage = delta_seconds(argument);
      if (!out.s_maxage) out.no_cache = true;
    }
  }
  return out;
}

}  // namespace agg::stages
