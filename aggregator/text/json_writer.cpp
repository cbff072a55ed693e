#include "aggregator/text/json_writer.hpp"

#include <boost/json/value.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "aggregator/text/utf8.hpp"

namespace agg::text {

namespace {

/// Bytes a JSON string cannot hold as they are: control characters, '"', '\\', and every byte of
/// a multi-byte sequence (checked as UTF-8). One look-up per byte in the writer's loop.
constexpr std::array<bool, 256> special_bytes = [] {
  std::array<bool, 256> special{};
  for (std::size_t c = 0; c < special.size(); ++c) special[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  return special;
}();

}  // namespace

json_writer &json_writer::key(std::string_view name) {
  string(name);
  out_ += ':';
  return *this;
}

json_writer &json_writer::string(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out_ += '"';
  // Copy runs that need no escaping in one append: most text (URLs, messages) is one run.
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!special_bytes[static_cast<unsigned char>(c)]) continue;
    if (static_cast<unsigned char>(c) >= 0x80) {
      // Bytes that are not UTF-8 (a query's %FF, a binary body kept as text) become U+FFFD: a
      // response is always valid JSON text.
      const text::utf8_step step = text::utf8_step_at(text, i);
      if (!step.valid) {
        out_.append(text.data() + run, i - run);
        out_ += replacement_character;
        run = i + step.length;
      }
      i += step.length - 1;
      continue;
    }
    out_.append(text.data() + run, i - run);
    run = i + 1;
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
