#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

namespace agg::auth {

/// The API keys the service knows, by the SHA-256 of each (the keys themselves are never stored,
/// logged or compared as text): a line per key in `auth.api_keys_file`,
///
///     mobile-app sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
///
/// (a name of lowercase letters, digits, '-' or '_'; `#` starts a comment). Made with
/// `printf %s "$KEY" | sha256sum`. Immutable; thread-safe.
class api_keys {
 public:
  /// The keys of a file's text, or the problem with its line number ("line 3: ...").
  static std::variant<api_keys, std::string> parse(std::string_view text);

  /// The name of the key `key` is, if it is one.
  [[nodiscard]] std::optional<std::string_view> name_of(std::string_view key) const;
  [[nodiscard]] std::size_t size() const noexcept { return by_hash_.size(); }

 private:
  std::unordered_map<std::string, std::string> by_hash_;  // raw SHA-256 -> name
};

}  // namespace agg::auth
