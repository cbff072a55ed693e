// Upstream bodies, settled and shaped and rendered: the input is a route choice, a status choice
// and the bytes an upstream sent. Whatever they are, the response documents (whole, each arrival,
// the summary) are JSON, and text that is not UTF-8 never reaches them.

#include <boost/json/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "aggregator/config/load_config.hpp"
#include "aggregator/fanout/aggregate.hpp"
#include "aggregator/fanout/fan_out_plan.hpp"
#include "aggregator/fanout/render.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

const agg::config::service_config &config() {
  static const agg::config::service_config loaded = [] {
    auto parsed = agg::config::parse_config(R"({"routes":[
      {"name":"plain","path":"/api/plain","upstreams":[{"url":"http://127.0.0.1:9/a"},{"url":"http://127.0.0.1:9/b"}]},
      {"name":"text","path":"/api/text","accept_non_json":true,"upstreams":[{"url":"http://127.0.0.1:9/a"}]},
      {"name":"shaped","path":"/api/shaped","merge":"shallow","upstreams":[
        {"name":"user","url":"http://127.0.0.1:9/u","select":"/data","allow":["/id","/name","/tags"],
         "rename":{"/name":"/user_name"}},
        {"name":"more","url":"http://127.0.0.1:9/m","deny":["/secret","/data/0"],"required":true}]},
      {"name":"keyed","path":"/api/keyed","upstreams":[
        {"name":"one","url":"http://127.0.0.1:9/1","select":"/items/0"},
        {"name":"two","url":"http://127.0.0.1:9/2","return_headers":["ETag"]}]}]})");
    return std::get<agg::config::service_config>(std::move(parsed));
  }();
  return loaded;
}

void check_json(const std::string &text) {
  boost::system::error_code ec;
  boost::json::parse(text, ec);  // refuses text that is not UTF-8
  if (ec) std::fprintf(stderr, "not JSON (%s): %s\n", ec.message().c_str(), text.c_str());
  AGG_FUZZ_CHECK(!ec);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  if (size < 2) return 0;
  const auto &route = config().routes[data[0] % config().routes.size()];
  static constexpr long statuses[] = {200, 200, 200, 204, 201, 404, 500, 503};
  const long status = statuses[data[1] % std::size(statuses)];
  const std::string_view body{reinterpret_cast<const char *>(data) + 2, size - 2};

  auto planned = agg::fanout::make_plan(route, {});
  AGG_FUZZ_CHECK(std::holds_alternative<agg::fanout::fan_out_plan>(planned));
  const auto &plan = std::get<agg::fanout::fan_out_plan>(planned);
  const auto started = std::chrono::steady_clock::now();
  std::vector<agg::stages::call_outcome> outcomes(plan.calls.size());
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    auto &reply = outcomes[i].reply;
    agg::calls::set_response_status(reply, status);
    // The first call gets the bytes; the second half of them, or an error, goes to the next.
    reply.body = std::string{i == 0 ? body : body.substr(body.size() / 2)};
    if (i == 1 && (data[1] & 0x80) != 0) reply = agg::calls::failed_reply(agg::calls::outcome_kind::transport, body);
    if (i == 1 && (data[1] & 0x40) != 0) reply.headers.emplace_back("ETag", std::string{body.substr(0, 40)});
    reply.started = started;
    reply.finished = started;
  }
  const auto result = agg::fanout::settle(plan, agg::fanout::execution_mode::async, std::move(outcomes), started);
  AGG_FUZZ_CHECK(result.results.size() == plan.calls.size());
  check_json(agg::fanout::render(result).body);
  check_json(agg::fanout::render_summary(result));
  for (std::size_t i = 0; i < result.results.size(); ++i) check_json(agg::fanout::render_arrival(i, result.results[i]));
  return 0;
}
