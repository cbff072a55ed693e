#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace agg::text {

/// U+FFFD, what stands in for bytes that are not UTF-8 wherever the service echoes text in JSON.
inline constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

/// One step through text that should be UTF-8: a well-formed sequence (1 to 4 bytes), or the
/// longest start of one that is not (the "maximal subpart" of Unicode 15 §3.9, which one U+FFFD
/// replaces, as browsers' decoders do).
struct utf8_step {
  std::size_t length = 1;
  bool valid = true;
};

/// The step at text[at] (at < text.size()).
utf8_step utf8_step_at(std::string_view text, std::size_t at) noexcept;

[[nodiscard]] bool is_valid_utf8(std::string_view text) noexcept;

/// `text` with every maximal ill-formed subpart replaced by U+FFFD: `text` itself when it is UTF-8.
[[nodiscard]] std::string valid_utf8(std::string_view text);

}  // namespace agg::text
