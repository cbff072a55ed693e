#include "aggregator/engine/engine.hpp"

#include <optional>
#include <string>
#include <vector>

namespace agg::engine {

namespace {

/// The tokens that grant access: those of `tokens` that are configured.
std::vector<std::string> configured(std::initializer_list<std::optional<std::string>> tokens) {
  std::vector<std::string> given;
  for (const auto &token : tokens)
    if (token) given.push_back(*token);
  return given;
}

}  // namespace

engine::engine(const config::service_config &service, config::live_routes &live, client::upstream_client &upstream,
               const service_log &out, const config::access_tokens &tokens)
    : config(service),
      routes(live),
      client(upstream),
      log(out),
      aggregations(service.server.max_aggregations),
      jobs(jobs::job_limits{service.jobs.max_jobs, service.jobs.keep_finished}),
      sync_pool(service.server.sync_threads, service.server.sync_queue),
      client_auth(tokens.client ? configured({tokens.client, tokens.admin}) : std::vector<std::string>{}, "aggregator"),
      admin_auth(configured({tokens.admin}), "aggregator admin") {}

}  // namespace agg::engine
