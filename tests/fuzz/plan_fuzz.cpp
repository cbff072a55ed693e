// URL, header and body templates expanded with request values: the input is a route choice, a
// request target's query and a request body (split at the first two NUL bytes), read the way the
// data plane reads them. Whatever the values, every planned call goes to the origin its route's
// config names (values only ever fill slots), its header lines hold no line break, and its body is
// JSON.

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "aggregator/config/load_config.hpp"
#include "aggregator/config/url_template.hpp"
#include "aggregator/fanout/fan_out_plan.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

const agg::config::service_config &config() {
  static const agg::config::service_config loaded = [] {
    auto parsed = agg::config::parse_config(R"({"routes":[
      {"name":"repeat","path":"/api/repeat","num":{"default":2,"max":20},
       "params":{"city":{"default":"paris","max_length":64},"q":{}},"forward_headers":["X-User"],
       "upstreams":[{"url":"http://127.0.0.1:9/api/{city}/x?task_id={i}&q={q}&of={num}","repeat":true,
                     "headers":{"X-City":"{city}","X-Q":"q={q}"}},
                    {"url":"https://127.0.0.1:9/fixed/{q}"}]},
      {"name":"body","path":"/api/body","params":{"user":{"default":"u"}},
       "upstreams":[{"name":"echo","url":"http://127.0.0.1:9/echo?u={user}","method":"POST",
                     "body":{"user":"{user}","raw":"{request.body#/x}","all":"{request.body#}","n":["{request.body#/n}"]}},
                    {"url":"http://127.0.0.1:9/fwd","method":"PUT","forward_body":true},
                    {"url":"http://127.0.0.1:9/ids?id={item}","for_each":"request.body#/ids/*","max_items":50},
                    {"url":"http://127.0.0.1:9/batch?ids={item}","for_each":"request.body#/ids/*","batch":{"size":7,"join":";"}}]}]})");
    return std::get<agg::config::service_config>(std::move(parsed));
  }();
  return loaded;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input{reinterpret_cast<const char *>(data) + 1, size - 1};
  const auto &route = config().routes[data[0] % config().routes.size()];
  const std::size_t first = input.find('\0');
  const std::string_view query = input.substr(0, first);
  const std::string_view rest = first == std::string_view::npos ? std::string_view{} : input.substr(first + 1);
  const std::string_view header = rest.substr(0, rest.find('\0'));
  const std::string_view body =
      rest.find('\0') == std::string_view::npos ? std::string_view{} : rest.substr(rest.find('\0') + 1);

  // As the router reads a target: bytes a URI may not hold percent-encoded, then Boost.URL.
  const std::string target = agg::config::percent_encode_except("/x?" + std::string{query}, "-._~!$&'()*+,;=:@/?%");
  const auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return 0;
  agg::fanout::query_params params;
  for (const auto &param : parsed->params()) params.emplace(param.key, param.value);
  const agg::fanout::header_lookup headers = [&](std::string_view) { return std::optional<std::string>{header}; };
  auto planned = agg::fanout::make_plan(route, params, headers, route->takes_body ? body : std::string_view{});
  if (const auto *error = std::get_if<agg::fanout::request_error>(&planned)) {
    AGG_FUZZ_CHECK(error->status >= 400 && error->status < 500 && !error->message.empty());
    return 0;
  }
  const auto &plan = std::get<agg::fanout::fan_out_plan>(planned);
  AGG_FUZZ_CHECK(plan.calls.size() <= route->max_calls);
  for (std::size_t i = 0; i < plan.calls.size(); ++i) {
    const auto &call = plan.calls[i];
    const auto url = boost::urls::parse_absolute_uri(call.url);
    AGG_FUZZ_CHECK(url.has_value());
    const std::string configured = plan.entry_of(i).url.text();
    const std::string_view origin = std::string_view{call.url}.substr(0, call.origin_length);
    AGG_FUZZ_CHECK(call.origin_length > 0 && configured.starts_with(origin));
    AGG_FUZZ_CHECK(url->encoded_host() == "127.0.0.1" && url->port() == "9");
    for (const auto &line : call.headers) AGG_FUZZ_CHECK(line.find_first_of("\r\n") == std::string::npos);
    if (call.body) {
      boost::system::error_code ec;
      boost::json::parse(*call.body, ec);
      AGG_FUZZ_CHECK(!ec);
    }
  }
  return 0;
}
