#pragma once

#include <charconv>
#include <optional>
#include <string_view>

namespace agg::text {

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

/// `value` without the spaces and tabs around it (HTTP's optional whitespace).
constexpr std::string_view trimmed(std::string_view value) noexcept {
  const std::size_t first = value.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return value.substr(first, value.find_last_not_of(" \t") - first + 1);
}

/// `c` in lower case when it is an ASCII upper-case letter.
constexpr char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

/// True when `a` and `b` differ at most in ASCII letter case: header names, auth schemes.
constexpr bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

/// A route's, a parameter's or an entry's name: lowercase letters, digits, '_' and '-'.
constexpr bool is_name(std::string_view text) noexcept { return made_of(text, "_-", false); }

/// A header name as the config may give it: letters, digits, '-' and '_'.
constexpr bool is_header_name(std::string_view text) noexcept { return made_of(text, "-_"); }

/// A header that describes the hop to the upstream (curl sets it): never forwarded nor set by a route.
constexpr bool is_hop_by_hop(std::string_view name) noexcept {
  for (const std::string_view hop : {"host", "content-length", "transfer-encoding", "connection", "upgrade", "te"})
    if (equal_ignoring_case(name, hop)) return true;
  return false;
}

/// True when `part` occurs in `text`, in any ASCII letter case.
constexpr bool contains_ignoring_case(std::string_view text, std::string_view part) noexcept {
  for (std::size_t i = 0; i + part.size() <= text.size(); ++i)
    if (equal_ignoring_case(text.substr(i, part.size()), part)) return true;
  return false;
}

/// A header whose value is a credential, hidden by `config print`: Authorization, Cookie, and any
/// name that says auth, key, token, secret, password, session or signature (X-Api-Key, X-Auth-Token).
constexpr bool is_credential_header(std::string_view name) noexcept {
  for (const std::string_view word : {"auth", "cookie", "key", "token", "secret", "password", "session", "signature"})
    if (contains_ignoring_case(name, word)) return true;
  return false;
}

/// True when `value` holds a control character other than a tab (CR, LF, NUL, a vertical tab, DEL,
/// ...): what a header value may never carry (RFC 9110, 5.5: one could end the line, the others are
/// no field content and are read differently by different servers).
constexpr bool breaks_header_line(std::string_view value) noexcept {
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && byte != '\t') || byte == 0x7F) return true;
  }
  return false;
}

/// `text` as a whole number from `min` to `max`: digits only (no sign, no spaces, not empty);
/// nullopt otherwise. The rule behind ports, page numbers and time limits.
inline std::optional<unsigned long long> whole_number(std::string_view text, unsigned long long min,
                                                      unsigned long long max) noexcept {
  unsigned long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) return std::nullopt;
  return value;
}

}  // namespace agg::text
