#include "aggregator/text/json_writer.hpp"

#include <boost/json/value.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "aggregator/text/utf8.hpp"

namespace agg::text {

namespace {

/// Bytes a JSON string cannot hold as they are: control characters, '"', '\\', and every byte of
/// a multi-byte sequence (checked as UTF-8). Looked up byte by byte where plain_prefix's eight-byte
/// test finds one.
constexpr std::array<bool, 256> special_bytes = [] {
  std::array<bool, 256> special{};
  for (std::size_t c = 0; c < special.size(); ++c) special[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  return special;
}();

/// Where the first byte at or after `from` that a JSON string cannot hold as it is sits (the
/// text's size when there is none), eight bytes at a time: most text has none.
std::size_t plain_prefix(std::string_view text, std::size_t from) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  std::size_t i = from;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t x = 0;
    std::memcpy(&x, text.data() + i, sizeof x);
    const std::uint64_t quote = x ^ (ones * '"');
    const std::uint64_t backslash = x ^ (ones * '\\');
    // A high bit marks a zero byte in `quote` or `backslash` (a '"' or a '\\'), a byte below
    // 0x20 (its subtraction borrows) or one of 0x80 and above; bytes past the first marked one may
    // be marked too, and are looked at one by one.
    if ((((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) | (x - ones * 0x20) | x) & highs) break;
  }
  while (i < text.size() && !special_bytes[static_cast<unsigned char>(text[i])]) ++i;
  return i;
}

}  // namespace

json_writer &json_writer::key(std::string_view name) {
  if (plain_prefix(name, 0) == name.size()) return quoted(name, "\":");
  string(name);
  out_ += ':';
  return *this;
}

json_writer &json_writer::quoted(std::string_view plain, std::string_view closing) {
  // One growth of the string for the whole token (three appends cost more than the copy).
  const std::size_t at = out_.size();
  out_.resize(at + 1 + plain.size() + closing.size());
  char *to = out_.data() + at;
  *to = '"';
  std::memcpy(to + 1, plain.data(), plain.size());
  std::memcpy(to + 1 + plain.size(), closing.data(), closing.size());
  return *this;
}

json_writer &json_writer::string(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  const std::size_t first = plain_prefix(text, 0);
  if (first == text.size()) return quoted(text, "\"");
  out_ += '"';
  // Copy runs that need no escaping in one append: most text (URLs, messages) is one run.
  std::size_t run = 0;
  for (std::size_t i = first; i < text.size(); i = plain_prefix(text, i)) {
    const char c = text[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      // Bytes that are not UTF-8 (a query's %FF, a binary body kept as text) become U+FFFD: a
      // response is always valid JSON text.
      const text::utf8_step step = text::utf8_step_at(text, i);
      if (!step.valid) {
        out_.append(text.data() + run, i - run);
        out_ += replacement_character;
        run = i + step.length;
      }
      i += step.length;
      continue;
    }
    out_.append(text.data() + run, i - run);
    run = ++i;
    switch (c) {
      case '"': out_ += "\\\""; break;
      case '\\': out_ += "\\\\"; break;
      case '\n': out_ += "\\n"; break;
      case '\r': out_ += "\\r"; break;
      case '\t': out_ += "\\t"; break;
      default:
        out_ += "\\u00";
        out_ += hex[(c >> 4) & 0x0F];
        out_ += hex[c & 0x0F];
    }
  }
  out_.append(text.data() + run, text.size() - run);
  out_ += '"';
  return *this;
}

json_writer &json_writer::number(long long value) {
  char text[24];
  const auto end = std::to_chars(text, text + sizeof text, value).ptr;
  out_.append(text, static_cast<std::size_t>(end - text));
  return *this;
}

json_writer &json_writer::number(double value, int decimals) {
  if (!std::isfinite(value)) return null();
  static constexpr std::array<long long, 7> scales{1, 10, 100, 1'000, 10'000, 100'000, 1'000'000};
  const bool scalable = decimals >= 0 && decimals < static_cast<int>(scales.size());
  const long long scale = scalable ? scales[static_cast<std::size_t>(decimals)] : 1;
  const double scaled = std::fabs(value) * static_cast<double>(scale);
  const double units = std::nearbyint(scaled);
  // The durations of every answer (start_ms, duration_ms: twenty per aggregation of ten): the
  // value in units of the last digit, rounded to the nearest, then written as an integer with the
  // point put in (std::to_chars in fixed form took 1 000 instructions a number). Below 2^52 a
  // product that is not a tie is on the same side of it as the exact one; a tie (the product may
  // have rounded onto it) goes to to_chars, which rounds the exact value.
  if (scalable && scaled < 0x1p52 && std::fabs(scaled - units) != 0.5) {
    if (std::signbit(value)) out_ += '-';
    const auto whole = static_cast<long long>(units);
    number(whole / scale);
    if (decimals == 0) return *this;
    char fraction[8];
    long long rest = whole % scale;
    for (int d = decimals - 1; d >= 0; --d, rest /= 10) fraction[d] = static_cast<char>('0' + rest % 10);
    out_ += '.';
    out_.append(fraction, static_cast<std::size_t>(decimals));
    return *this;
  }
  // to_chars: the same text as printf's %.*f without its locale and format parsing (snprintf of
  // doubles was 4 % of the aggregator's instructions).
  char text[64];
  const auto result = std::to_chars(text, text + sizeof text, value, std::chars_format::fixed, decimals);
  if (result.ec != std::errc{}) return null();
  out_.append(text, static_cast<std::size_t>(result.ptr - text));
  return *this;
}

json_writer &json_writer::value(const boost::json::value &v) {
  // Written here rather than by Boost.JSON's serializer, which writes a non-finite double (an
  // upstream's 1E400 parses as one) as `Infinity` or `NaN`, text no JSON parser takes, and strings
  // as the bytes they hold. The parser limits nesting (32 levels by default), so recursion is bounded.
  switch (v.kind()) {
    case boost::json::kind::null: return null();
    case boost::json::kind::bool_: return boolean(v.get_bool());
    case boost::json::kind::int64: return number(static_cast<long long>(v.get_int64()));
    case boost::json::kind::uint64: {
      char text[24];
      const auto end = std::to_chars(text, text + sizeof text, v.get_uint64()).ptr;
      return raw(std::string_view{text, static_cast<std::size_t>(end - text)});
    }
    case boost::json::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d)) return null();
      char text[32];
      const auto end = std::to_chars(text, text + sizeof text, d).ptr;  // the shortest text that reads back as d
      return raw(std::string_view{text, static_cast<std::size_t>(end - text)});
    }
    case boost::json::kind::string: return string(v.get_string());
    case boost::json::kind::array: {
      out_ += '[';
      bool first = true;
      for (const auto &element : v.get_array()) {
        if (!first) out_ += ',';
        first = false;
        value(element);
      }
      out_ += ']';
      return *this;
    }
    case boost::json::kind::object: {
      out_ += '{';
      bool first = true;
      for (const auto &member : v.get_object()) {
        if (!first) out_ += ',';
        first = false;
        key(member.key());
        value(member.value());
      }
      out_ += '}';
      return *this;
    }
  }
  return null();
}

}  // namespace agg::text
