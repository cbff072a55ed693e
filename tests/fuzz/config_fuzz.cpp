// Config loading and validation: any bytes as a config file. A config that loads survives its own
// routes being written out and read back (what the admin API saves is what the next start reads), and
// what `aggregator config print` makes of it loads and prints the same again.

#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "aggregator/config/config_schema.hpp"
#include "aggregator/config/json_text.hpp"
#include "aggregator/config/load_config.hpp"
#include "aggregator/config/route_definition.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view text{reinterpret_cast<const char *>(data), size};
  auto parsed = agg::config::parse_config(text);
  if (const auto *errors = std::get_if<agg::config::config_errors>(&parsed)) {
    AGG_FUZZ_CHECK(!errors->empty());  // refused: always with a reason
    return 0;
  }
  const auto &config = std::get<agg::config::service_config>(parsed);
  AGG_FUZZ_CHECK(!config.routes.empty());
  // `config print` of it loads, and printing that again changes nothing.
  const auto effective = agg::config::effective_config(text);
  AGG_FUZZ_CHECK(std::holds_alternative<boost::json::value>(effective));
  const std::string printed = agg::config::pretty_json(std::get<boost::json::value>(effective));
  AGG_FUZZ_CHECK(std::holds_alternative<agg::config::service_config>(agg::config::parse_config(printed)));
  const auto again = agg::config::effective_config(printed);
  AGG_FUZZ_CHECK(std::holds_alternative<boost::json::value>(again) &&
                 std::get<boost::json::value>(again) == std::get<boost::json::value>(effective));
  for (const auto &route : config.routes) {
    AGG_FUZZ_CHECK(agg::config::most_calls(*route) <= route->max_calls);
    const auto reparsed = agg::config::parse_json_text(agg::config::pretty_json(route->definition));
    AGG_FUZZ_CHECK(std::holds_alternative<boost::json::value>(reparsed));
    AGG_FUZZ_CHECK(std::holds_alternative<agg::config::route_config>(
        agg::config::parse_route(std::get<boost::json::value>(reparsed))));
  }
  return 0;
}
