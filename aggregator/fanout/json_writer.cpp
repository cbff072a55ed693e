#include "aggregator/fanout/json_writer.hpp"

#include <boost/json/serializer.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <cstdio>

namespace agg::fanout {

json_writer &json_writer::key(std::string_view name) {
  string(name);
  out_ += ':';
  return *this;
}

json_writer &json_writer::string(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out_ += '"';
  for (const char c : text) {
    switch (c) {
      case '"': out_ += "\\\""; break;
      case '\\': out_ += "\\\\"; break;
      case '\n': out_ += "\\n"; break;
      case '\r': out_ += "\\r"; break;
      case '\t': out_ += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out_ += "\\u00";
          out_ += hex[(c >> 4) & 0x0F];
          out_ += hex[c & 0x0F];
        } else {
          out_ += c;
        }
    }
  }
  out_ += '"';
  return *this;
}

json_writer &json_writer::number(long long value) {
  out_ += std::to_string(value);
  return *this;
}

json_writer &json_writer::number(double value, int decimals) {
  if (!std::isfinite(value)) return null();
  char text[64];
  const int n = std::snprintf(text, sizeof text, "%.*f", decimals, value);
  out_.append(text, static_cast<std::size_t>(n));
  return *this;
}

json_writer &json_writer::value(const boost::json::value &v) {
  boost::json::serializer serializer;
  serializer.reset(&v);
  char buffer[4096];
  while (!serializer.done()) out_ += serializer.read(buffer, sizeof buffer);
  return *this;
}

}  // namespace agg::fanout
