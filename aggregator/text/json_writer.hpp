#pragma once

#include <boost/json/fwd.hpp>

#include <string>
#include <string_view>

namespace agg::text {

/// Appends JSON text to a string: the response documents are written directly, so numbers read
/// as people expect (Boost.JSON 1.81 prints 1.5 as 1.5E0) and no intermediate tree is built.
/// The caller places separators; each call writes exactly one token or value.
class json_writer {
 public:
  explicit json_writer(std::string &out) noexcept : out_(out) {}

  json_writer &raw(std::string_view text) {
    out_ += text;
    return *this;
  }
  /// `"key":`
  json_writer &key(std::string_view name);
  json_writer &string(std::string_view text);
  json_writer &number(long long value);
  /// Fixed-point with `decimals` digits after the point.
  json_writer &number(double value, int decimals);
  json_writer &boolean(bool value) { return raw(value ? "true" : "false"); }
  json_writer &null() { return raw("null"); }
  json_writer &value(const boost::json::value &v);

 private:
  /// `"plain` then `closing`, for text that needs no escaping.
  json_writer &quoted(std::string_view plain, std::string_view closing);

  std::string &out_;
};

}  // namespace agg::text
