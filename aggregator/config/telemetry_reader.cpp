#include "aggregator/config/telemetry_reader.hpp"

#include <boost/url/parse.hpp>

#include "aggregator/text/character_rules.hpp"

namespace agg::config {

namespace json = boost::json;

void read_telemetry(config_checker &c, const json::value &v, telemetry_config &out) {
  const std::string path = "telemetry";
  const json::object *o = c.object(
      v, path,
      {"otlp_endpoint", "service_name", "sample_ratio", "headers", "timeout_ms", "max_queue", "batch", "interval_ms"});
  if (o == nullptr) return;
  if (auto endpoint = c.text(*o, path, "otlp_endpoint", true)) {
    const auto url = boost::urls::parse_absolute_uri(*endpoint);
    if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->encoded_host().empty() ||
        url->has_query() || url->has_fragment())
      c.fail(child(path, "otlp_endpoint"),
             "must be the collector's http:// or https:// base URL (traces go to <otlp_endpoint>/v1/traces), e.g. "
             "http://127.0.0.1:4318");
    out.otlp_endpoint = std::move(*endpoint);
  }
  out.service_name = c.text_or(*o, path, "service_name", out.service_name);
  c.number(*o, path, "sample_ratio", out.sample_ratio, 0, 1);
  if (const json::value *h = o->if_contains("headers")) {
    if (const json::object *headers = c.string_map(*h, child(path, "headers"))) {
      for (const auto &kv : *headers) {
        const json::string *value = kv.value().if_string();
        if (!text::is_header_name(kv.key()) || value == nullptr || text::breaks_header_line(*value)) {
          c.fail(child(child(path, "headers"), kv.key()), "must map a header name to a string on one line");
          continue;
        }
        out.headers.emplace_back(kv.key(), *value);
        c.secret(kv.value());
      }
    }
  }
  c.millis(*o, path, "timeout_ms", out.timeout, 1, 600'000);
  c.integer(*o, path, "max_queue", out.max_queue, 1, 10'000'000);
  c.integer(*o, path, "batch", out.batch, 1, 100'000);
  c.millis(*o, path, "interval_ms", out.interval, 10, 3'600'000);
}

}  // namespace agg::config
