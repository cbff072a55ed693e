#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "aggregator/config/text_template.hpp"

namespace agg::config {

/// An upstream URL with `{name}` slots, parsed once at load time. Slots may only stand after the
/// host (in the path or query), so scheme, host and port always come from the config; values are
/// percent-encoded when they fill a slot, so neither a request parameter nor a value taken from an
/// upstream's body can ever change them.
class url_template {
 public:
  /// Parses `text`; on a malformed template returns the reason instead.
  static std::variant<url_template, std::string> parse(std::string_view text);

  /// The URL with every slot filled by `value_of(slot)`, percent-encoded.
  [[nodiscard]] std::string expand(const std::function<std::string(const template_slot &)> &value_of) const;
  [[nodiscard]] const std::string &text() const noexcept { return template_.text(); }
  /// How many leading characters are scheme, host and port (`http://host:8080`): the same in every
  /// expansion, since slots stand only after them.
  [[nodiscard]] std::size_t origin_length() const noexcept { return origin_length_; }
  [[nodiscard]] std::vector<template_slot> slots() const { return template_.slots(); }
  [[nodiscard]] const text_template &parts() const noexcept { return template_; }

 private:
  text_template template_;
  std::size_t origin_length_ = 0;
};

/// Percent-encodes every byte of `text` but ASCII letters, digits and the characters in `kept`.
std::string percent_encode_except(std::string_view text, std::string_view kept);

/// Percent-encodes everything but ASCII letters, digits, '-', '_' and '~' (even '.', '/' and '%'),
/// so a value cannot add path segments, dot-segments, a query, a fragment or an authority.
inline std::string percent_encode(std::string_view value) { return percent_encode_except(value, "-_~"); }

}  // namespace agg::config
