#include "aggregator/config/json_text.hpp"

#include "aggregator/config/config_checker.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <vector>

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

/// A basic_parser handler that builds nothing and stops at what Boost.JSON 1.81 lets through
/// silently, remembering where it is: a key an object repeats (it keeps the last), and a number no
/// double holds (it makes it infinite).
class strict_reader {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  /// The path of the repeated key ("routes[0].upstreams[1].url"), once one was found.
  std::optional<std::string> duplicate;
  /// The path of a number too large for a double (which Boost.JSON would make infinite).
  std::optional<std::string> not_finite;

  bool on_document_begin(boost::system::error_code &) { return true; }
  bool on_document_end(boost::system::error_code &) { return true; }
  bool on_array_begin(boost::system::error_code &) { return open(false); }
  bool on_array_end(std::size_t, boost::system::error_code &) { return close(); }
  bool on_object_begin(boost::system::error_code &) { return open(true); }
  bool on_object_end(std::size_t, boost::system::error_code &) { return close(); }
  bool on_string_part(json::string_view, std::size_t, boost::system::error_code &) { return true; }
  bool on_string(json::string_view, std::size_t, boost::system::error_code &) { return scalar(); }
  bool on_key_part(json::string_view part, std::size_t, boost::system::error_code &) {
    key_.append(part.data(), part.size());
    return true;
  }
  bool on_key(json::string_view part, std::size_t, boost::system::error_code &ec) {
    key_.append(part.data(), part.size());
    frame &f = frames_.back();
    f.key = std::move(key_);
    key_.clear();
    if (f.keys.insert(f.key).second) return true;
    duplicate = path();
    ec = json::error::extra_data;  // stops the parse; the caller reports the duplicate instead
    return false;
  }
  bool on_number_part(json::string_view, boost::system::error_code &) { return true; }
  bool on_int64(std::int64_t, json::string_view, boost::system::error_code &) { return scalar(); }
  bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code &) { return scalar(); }
  bool on_double(double d, json::string_view, boost::system::error_code &ec) {
    if (std::isfinite(d)) return scalar();
    // Boost.JSON reads 1E400 as infinity and would write it back as `Infinity`, which is not JSON.
    scalar();
    not_finite = path();
    ec = json::error::exponent_overflow;
    return false;
  }
  bool on_bool(bool, boost::system::error_code &) { return scalar(); }
  bool on_null(boost::system::error_code &) { return scalar(); }
  bool on_comment_part(json::string_view, boost::system::error_code &) { return true; }
  bool on_comment(json::string_view, boost::system::error_code &) { return true; }

 private:
  struct frame {
    bool object = false;
    std::set<std::string, std::less<>> keys;  // an object's keys so far
    std::string key;                          // the member being read
    std::size_t next_index = 0;               // an array's next element
    std::size_t index = 0;                    // the element being read
  };
  /// A value starts: in an array, it is the next element.
  bool scalar() {
    if (!frames_.empty() && !frames_.back().object) frames_.back().index = frames_.back().next_index++;
    return true;
  }
  bool open(bool object) {
    scalar();
    frames_.push_back(frame{object, {}, {}, 0, 0});
    return true;
  }
  bool close() {
    frames_.pop_back();
    return true;
  }
  [[nodiscard]] std::string path() const {
    std::string out;
    for (const frame &f : frames_) out = f.object ? child(out, f.key) : element(out, f.index);
    return out;
  }

  std::vector<frame> frames_;
  std::string key_;
};

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
  // Valid JSON: read it once more for what the parser above let through.
  json::basic_parser<strict_reader> keys{json::parse_options{}};
  const std::size_t read = keys.write_some(false, text.data(), text.size(), ec);
  if (const auto &repeated = keys.handler().duplicate)
    return config_error{*repeated, "this key appears twice in its object (the second time at " +
                                       position_of(text, read) + "); a key may appear once"};
  if (const auto &huge = keys.handler().not_finite)  // taken as a syntax error: no path, a place
    return config_error{"", "not valid JSON at " + position_of(text, read) + ": a number too large for a double" +
                                (huge->empty() ? std::string{} : " (" + *huge + ")")};
  return parser.release();
}

std::string pretty_json_at(const json::value &value, std::size_t depth) {
  std::string out;
  write_pretty(out, value, depth);
  return out;
}

std::string pretty_json(const json::value &value) {
  std::string out;
  write_pretty(out, value, 0);
  out += "\n";
  return out;
}

}  // namespace agg::config
