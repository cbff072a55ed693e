#include "aggregator/text/utf8.hpp"

namespace agg::text {

utf8_step utf8_step_at(std::string_view text, std::size_t at) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) return {1, true};
  // Unicode Table 3-7: the lead byte fixes the length and the range of the second byte.
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // no overlong forms
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;  // nothing past U+10FFFF
  } else {
    return {1, false};  // a continuation byte, C0, C1 or F5..FF: never a lead
  }
  for (std::size_t k = 1; k < length; ++k) {
    if (at + k >= text.size()) return {k, false};
    const unsigned char next = byte(at + k);
    if (next < low || next > high) return {k, false};
    low = 0x80;
    high = 0xBF;
  }
  return {length, true};
}

bool is_valid_utf8(std::string_view text) noexcept {
  for (std::size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const utf8_step step = utf8_step_at(text, i);
    if (!step.valid) return false;
    i += step.length;
  }
  return true;
}

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const utf8_step step = utf8_step_at(text, i);
    if (step.valid)
      out.append(text.substr(i, step.length));
    else
      out += replacement_character;
    i += step.length;
  }
  return out;
}

}  // namespace agg::text
