#pragma once

#include "aggregator/client/upstream_client.hpp"
#include "aggregator/config/access_tokens.hpp"
#include "aggregator/config/live_routes.hpp"
#include "aggregator/config/service_config.hpp"
#include "aggregator/http/bearer_auth.hpp"
#include "aggregator/jobs/job_store.hpp"
#include "aggregator/loop/blocking_pool.hpp"
#include "aggregator/runtime/admission.hpp"
#include "aggregator/runtime/metrics.hpp"
#include "aggregator/runtime/service_log.hpp"
#include "aggregator/stages/shared_state.hpp"

namespace agg::runtime {

/// What both fronts serve, with no HTTP in it: the routes in force, the upstream loops, what the
/// call stages share (breakers, budgets, caches), admission (the aggregation cap and the shutdown
/// registry), background jobs, the blocking pool behind the sync baseline, the metrics, the log and
/// the access tokens. The data plane and the control plane
/// translate HTTP to calls on it; a test or a benchmark can drive it with neither. The config, the
/// routes, the client and the log must outlive it. Thread-safe.
struct engine {
  engine(const agg::config::service_config &service, agg::config::live_routes &live,
         agg::client::upstream_client &upstream, const service_log &out, const agg::config::access_tokens &tokens = {});

  // Qualified names: members called like the namespaces (config, client) must not change what a
  // later declaration in this class means.
  const agg::config::service_config &config;
  agg::config::live_routes &routes;
  agg::client::upstream_client &client;
  const service_log &log;
  /// What every aggregation's call stages share; each pipeline holds it too, so that calls still on
  /// a loop when the engine goes (the loops outlive it) have it.
  std::shared_ptr<agg::stages::shared_state> stages;
  admission aggregations;
  agg::jobs::job_store jobs;
  loop::blocking_pool sync_pool;
  metrics stats;
  agg::http::bearer_auth client_auth;  ///< open unless a client token is configured; the admin token passes too
  agg::http::bearer_auth admin_auth;   ///< open (the admin API off) unless an admin token is configured
};

}  // namespace agg::runtime
