#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace agg::stages {

/// What an upstream's Cache-Control (RFC 9111 §5.2.2) tells a shared cache.
struct cache_directives {
  bool no_store = false;
  bool no_cache = false;
  bool is_private = false;
  std::optional<std::chrono::seconds> max_age;
  std::optional<std::chrono::seconds> s_maxage;  ///< a shared cache's own max-age, ahead of max-age

  /// True when a shared cache may keep the response.
  [[nodiscard]] bool storable() const noexcept { return !no_store && !no_cache && !is_private; }
  /// How long it stays fresh, when the header says.
  [[nodiscard]] std::optional<std::chrono::seconds> lifetime() const noexcept { return s_maxage ? s_maxage : max_age; }
};

/// Reads a Cache-Control field value: comma-separated directives, names in any case, arguments as
/// tokens or quoted strings. Unknown directives are ignored; a malformed delta-seconds is ignored too
/// (RFC 9111 §1.2.2: a cache treats an invalid max-age as stale, so it is not stored).
cache_directives parse_cache_control(std::string_view field);

}  // namespace agg::stages
