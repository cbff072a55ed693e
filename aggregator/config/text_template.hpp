#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace agg::config {

/// A slot of a template: `{name}` (a request parameter, `i`, `num`, `item`, `items`) or a value taken
/// from another entry's body, `{user.body#/id}` (entry name, then an RFC 6901 JSON Pointer; `#` alone
/// is the whole body). `request` names the client's own JSON body.
/// `{jwt#/sub}` takes a value from the caller's verified JWT claims, `{api_key.name}` the name of
/// its API key.
struct template_slot {
  std::string name;                    ///< the parameter, or the entry whose body is read
  std::optional<std::string> pointer;  ///< set exactly for a reference into a body or the claims
  bool from_claims = false;            ///< `{jwt#pointer}`
  /// A value from another entry's body (or the request's): what orders the entries.
  [[nodiscard]] bool is_reference() const noexcept { return pointer.has_value() && !from_claims; }
  [[nodiscard]] std::string text() const {
    if (from_claims) return "{jwt#" + *pointer + "}";
    return "{" + name + (pointer ? ".body#" + *pointer : "") + "}";
  }
};

/// The slot `{api_key.name}`.
inline constexpr std::string_view api_key_name_slot = "api_key.name";

/// Text with `{slot}`s, parsed once at load time: what URL templates, header values and the strings
/// of a body template are made of.
class text_template {
 public:
  using piece = std::variant<std::string, template_slot>;

  /// Parses `text`; on a malformed template returns the reason instead.
  static std::variant<text_template, std::string> parse(std::string_view text);

  /// The text with every slot replaced by `value_of(slot)`, as it is (callers encode).
  [[nodiscard]] std::string expand(const std::function<std::string(const template_slot &)> &value_of) const;
  [[nodiscard]] const std::string &text() const noexcept { return text_; }
  [[nodiscard]] std::vector<template_slot> slots() const;
  /// The slot, when the whole text is exactly one slot (a body value that keeps its JSON type).
  [[nodiscard]] const template_slot *whole_slot() const noexcept;

 private:
  std::string text_;
  std::vector<piece> pieces_;
};

/// True when `pointer` is an RFC 6901 JSON Pointer: empty, or '/'-separated tokens in which '~' is
/// always followed by '0' or '1'.
bool is_json_pointer(std::string_view pointer) noexcept;

/// The pointer's reference tokens, unescaped (`~1` is '/', `~0` is '~'); `pointer` must be valid.
std::vector<std::string> pointer_tokens(std::string_view pointer);

}  // namespace agg::config
