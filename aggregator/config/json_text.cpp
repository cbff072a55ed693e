#include "aggregator/config/json_text.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

#include <algorithm>

namespace agg::config {

namespace json = boost::json;

namespace {

/// "line L, column C" of byte `offset` in `text`.
std::string position_of(std::string_view text, std::size_t offset) {
  const std::string_view before = text.substr(0, std::min(offset, text.size()));
  const auto line = 1 + std::count(before.begin(), before.end(), '\n');
  const std::size_t last_newline = before.rfind('\n');
  const std::size_t column = 1 + (last_newline == std::string_view::npos ? offset : offset - last_newline - 1);
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

void write_pretty(std::string &out, const json::value &v, std::size_t depth) {
  const std::string indent(2 * (depth + 1), ' ');
  const std::string closing_indent(2 * depth, ' ');
  if (const auto *o = v.if_object(); o != nullptr && !o->empty()) {
    out += "{\n";
    bool first = true;
    for (const auto &kv : *o) {
      out += (first ? "" : ",\n") + indent + json::serialize(json::value(kv.key())) + ": ";
      write_pretty(out, kv.value(), depth + 1);
      first = false;
    }
    out += "\n" + closing_indent + "}";
  } else if (const auto *a = v.if_array(); a != nullptr && !a->empty()) {
    out += "[\n";
    for (std::size_t i = 0; i < a->size(); ++i) {
      out += (i == 0 ? "" : ",\n") + indent;
      write_pretty(out, (*a)[i], depth + 1);
    }
    out += "\n" + closing_indent + "]";
  } else {
    out += json::serialize(v);
  }
}

}  // namespace

std::variant<json::value, config_error> parse_json_text(std::string_view text) {
  json::stream_parser parser;
  boost::system::error_code ec;
  const std::size_t consumed = parser.write(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) return config_error{"", "not valid JSON at " + position_of(text, consumed) + ": " + ec.message()};
  return parser.release();
}

std::string pretty_json(const json::value &value) {
  std::string out;
  write_pretty(out, value, 0);
  out += "\n";
  return out;
}

}  // namespace agg::config
