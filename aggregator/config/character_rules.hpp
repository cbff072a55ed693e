#pragma once

#include <string_view>

namespace agg::config {

/// True when `text` is not empty and each character is an ASCII digit, a lower-case letter, an
/// upper-case letter when `upper_case`, or one of `extra`: the rule behind every name, path and
/// header check of the config and the front.
constexpr bool made_of(std::string_view text, std::string_view extra, bool upper_case = true) noexcept {
  if (text.empty()) return false;
  for (const char c : text) {
    const bool letter = (c >= 'a' && c <= 'z') || (upper_case && c >= 'A' && c <= 'Z');
    if (!letter && !(c >= '0' && c <= '9') && extra.find(c) == std::string_view::npos) return false;
  }
  return true;
}

}  // namespace agg::config
