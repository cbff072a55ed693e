#include "aggregator/runtime/engine.hpp"

#include <optional>
#include <string>
#include <vector>

namespace agg::runtime {

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
      stages(std::make_shared<stages::shared_state>(
          upstream.loop_count(), upstream.options().max_connections_per_origin,
          [&out](std::string_view origin, stages::breaker_state now) {
            out.event(
                now == stages::breaker_state::open ? config::log_config::level::warn : config::log_config::level::info,
                "circuit breaker of " + std::string{origin} + " is now " + std::string{to_string(now)});
          })),
      aggregations(service.server.max_aggregations),
      jobs(jobs::job_limits{service.jobs.max_jobs, service.jobs.keep_finished, service.jobs.max_bytes}),
      sync_pool(service.server.sync_threads, service.server.sync_queue),
      client_auth(tokens.client ? configured({tokens.client, tokens.admin}) : std::vector<std::string>{}, "aggregator"),
      admin_auth(configured({tokens.admin}), "aggregator admin") {}

}  // namespace agg::runtime
