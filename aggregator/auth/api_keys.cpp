#include "aggregator/auth/api_keys.hpp"

#include <charconv>
#include <unordered_set>

#include "aggregator/auth/jwt_verifier.hpp"
#include "aggregator/text/character_rules.hpp"

namespace agg::auth {

namespace {

/// 64 hex digits as the 32 bytes they spell; nullopt otherwise.
std::optional<std::string> hex_digest(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  std::string bytes(32, '\0');
  for (std::size_t i = 0; i < 32; ++i) {
    unsigned value = 0;
    const char *first = hex.data() + 2 * i;
    const auto [end, ec] = std::from_chars(first, first + 2, value, 16);
    if (ec != std::errc{} || end != first + 2) return std::nullopt;
    bytes[i] = static_cast<char>(value);
  }
  return bytes;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::variant<api_keys, std::string> api_keys::parse(std::string_view text) {
  api_keys keys;
  std::unordered_set<std::string_view> names;  // views into `text`, which outlives the parse
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    line = trimmed(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const std::string where = "line " + std::to_string(number) + ": ";
    const std::size_t space = line.find_first_of(" \t");
    const std::string_view name = line.substr(0, space);
    const std::string_view hash = space == std::string_view::npos ? std::string_view{} : trimmed(line.substr(space));
    if (!text::is_name(name)) return where + "a key's name is lowercase letters, digits, '-' or '_'";
    const auto digest = hash.starts_with("sha256:") ? hex_digest(hash.substr(7)) : std::nullopt;
    if (!digest)
      return where + "expected `" + std::string{name} +
             " sha256:<64 hex digits>` (printf %s \"$KEY\" | sha256sum), never the key itself";
    if (!names.emplace(name).second) return where + "the name " + std::string{name} + " is given twice";
    if (!keys.by_hash_.emplace(*digest, std::string{name}).second) return where + "the same key is listed twice";
  }
  return keys;
}

std::optional<std::string_view> api_keys::name_of(std::string_view key) const {
  const auto found = by_hash_.find(sha256(key));
  if (found == by_hash_.end()) return std::nullopt;
  return std::string_view{found->second};
}

}  // namespace agg::auth
