#include "aggregator/http/error_body.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cassert>
#include <cstdio>

#include "aggregator/text/utf8.hpp"

namespace agg::http {

std::string error_json(std::string_view code, std::string_view message) {
  // A message may quote what the client sent (a path, a parameter): never as bytes that are not UTF-8.
  return boost::json::serialize(
      boost::json::object{{"error", {{"code", text::valid_utf8(code)}, {"message", text::valid_utf8(message)}}}});
}

std::string with_elapsed(std::string object_text, std::chrono::steady_clock::time_point started) {
  assert(object_text.size() >= 2 && object_text.front() == '{' && object_text.back() == '}');
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  char elapsed[64];
  std::snprintf(elapsed, sizeof elapsed, "%s\"elapsed\":%.6f}", object_text.size() > 2 ? "," : "", seconds);
  object_text.pop_back();
  object_text += elapsed;
  return object_text;
}

}  // namespace agg::http
