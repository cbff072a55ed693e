// Route definitions and merge patches, as the admin API takes them: the input is a definition and a
// patch (JSON texts, split at the first NUL byte). Whatever they hold, reading them never crashes,
// and a patched route is read by the same rules as a new one.

#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "aggregator/config/json_text.hpp"
#include "aggregator/config/route_definition.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

bool accepted(const boost::json::value &definition) {
  auto parsed = agg::config::parse_route(definition);
  if (const auto *errors = std::get_if<agg::config::config_errors>(&parsed)) {
    AGG_FUZZ_CHECK(!errors->empty());
    return false;
  }
  const auto &route = std::get<agg::config::route_config>(parsed);
  AGG_FUZZ_CHECK(agg::config::most_calls(route) <= route.max_calls);
  AGG_FUZZ_CHECK(route.order.size() == route.upstreams.size());
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view input{reinterpret_cast<const char *>(data), size};
  const std::size_t split = input.find('\0');
  const auto definition = agg::config::parse_json_text(input.substr(0, split));
  if (!std::holds_alternative<boost::json::value>(definition)) return 0;
  const auto &original = std::get<boost::json::value>(definition);
  accepted(original);
  if (split == std::string_view::npos) return 0;
  const auto patch = agg::config::parse_json_text(input.substr(split + 1));
  if (!std::holds_alternative<boost::json::value>(patch)) return 0;
  const boost::json::value merged = agg::config::merge_patch(original, std::get<boost::json::value>(patch));
  accepted(merged);
  // RFC 7386: applying the same patch again changes nothing.
  AGG_FUZZ_CHECK(agg::config::merge_patch(merged, std::get<boost::json::value>(patch)) == merged);
  return 0;
}
