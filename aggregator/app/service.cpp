#include "aggregator/app/service.hpp"

#include <variant>
#include <vector>

#include "aggregator/client/transfer.hpp"
#include "aggregator/filters/access_log_filter.hpp"
#include "aggregator/filters/admission_filter.hpp"
#include "aggregator/filters/compression_filter.hpp"
#include "aggregator/filters/cors_filter.hpp"
#include "aggregator/filters/identity_filter.hpp"
#include "aggregator/filters/loop_guard_filter.hpp"
#include "aggregator/filters/rate_limit_filter.hpp"
#include "aggregator/filters/request_id_filter.hpp"
#include "aggregator/filters/routing_filter.hpp"
#include "aggregator/filters/telemetry_filter.hpp"
#include "aggregator/filters/timing_filter.hpp"
#include "aggregator/filters/token_access_filter.hpp"
#include "aggregator/filters/trace_filter.hpp"

namespace agg::app {

namespace {

using level = config::log_config::level;
using filter_list = std::vector<std::unique_ptr<filters::request_filter>>;

template <typename... Filters>
filter_list list_of(std::unique_ptr<Filters>... filters) {
  filter_list list;
  (list.push_back(std::move(filters)), ...);
  return list;
}

/// The tokens that grant access: those of `tokens` that are configured.
std::vector<std::string> configured(std::initializer_list<std::optional<std::string>> tokens) {
  std::vector<std::string> given;
  for (const auto &token : tokens)
    if (token) given.push_back(*token);
  return given;
}

/// The data plane's request behaviours, in order. Routing comes before CORS, the loop guard and
/// access control because they decide by what the path names (a route's cors; a route makes calls;
/// a probe is open); CORS answers a preflight before anything asks for a credential; the
/// rate limit comes after identity (its `client` key is who the caller is). `guard` learns the
/// filters that guard a route, for the jobs endpoint. With `traces`, each sampled request's span
/// goes to it when the request is complete. With `shared`, rate limits are kept in Redis.
filters::filter_chain data_chain(const config::service_config &config, const auth::credentials &known,
                                 const filters::endpoint_table &table, runtime::admission &aggregations,
                                 const runtime::unsent_bytes &unsent, runtime::metrics &stats,
                                 const runtime::service_log &log, filters::route_guard &guard,
                                 telemetry::trace_exporter *traces, store::redis_store *shared) {
  auto identity = std::make_unique<filters::identity_filter>(known, stats);
  auto limits = std::make_unique<filters::rate_limit_filter>(stats, shared, &log);
  guard = filters::route_guard{identity.get(), limits.get()};
  const double sample_ratio = config.telemetry ? config.telemetry->sample_ratio : 1.0;
  filter_list list = list_of(std::make_unique<filters::access_log_filter>(stats, log),
                             std::make_unique<filters::compression_filter>(config.server.compression),
                             std::make_unique<filters::timing_filter>(), std::make_unique<filters::request_id_filter>(),
                             std::make_unique<filters::trace_filter>(config.server.start_traces, sample_ratio),
                             std::make_unique<filters::routing_filter>(table),
                             std::make_unique<filters::cors_filter>(config.server.cors),
                             std::make_unique<filters::loop_guard_filter>(config.server.max_hops), std::move(identity),
                             std::move(limits), std::make_unique<filters::admission_filter>(aggregations, unsent));
  if (traces != nullptr) list.insert(list.begin(), std::make_unique<filters::telemetry_filter>(*traces));
  return filters::filter_chain{std::move(list)};
}

/// What exports spans to `telemetry`'s collector; null without one.
std::unique_ptr<telemetry::trace_exporter> trace_exporter_for(const std::optional<config::telemetry_config> &telemetry,
                                                              const runtime::service_log &log) {
  if (!telemetry) return nullptr;
  return std::make_unique<telemetry::trace_exporter>(
      *telemetry, AGG_VERSION,
      [&log](bool ok, const std::string &message) { log.event(ok ? level::info : level::warn, message); });
}

/// The credentials the data plane takes. The admin token passes where the client token does.
auth::credentials data_credentials(const config::access_tokens &tokens, auth::jwks_refresher *refresher) {
  std::function<void()> on_unknown_key;
  if (refresher != nullptr) on_unknown_key = [refresher] { refresher->on_unknown_key(); };
  return auth::credentials{tokens.client ? configured({tokens.client, tokens.admin}) : std::vector<std::string>{},
                           tokens.jwt, tokens.api_keys, std::move(on_unknown_key)};
}

/// What refreshes auth.jwt's keys from its jwks_url; null without one.
std::unique_ptr<auth::jwks_refresher> jwks_refresher_for(const config::auth_config &auth,
                                                         const config::access_tokens &tokens,
                                                         const runtime::service_log &log) {
  if (!auth.jwt || auth.jwt->jwks_url.empty() || !tokens.jwt) return nullptr;
  const auto &jwt = *auth.jwt;
  return std::make_unique<auth::jwks_refresher>(
      tokens.jwt, auth::jwks_source{jwt.jwks_url, jwt.refresh, jwt.refresh_min, jwt.algorithms},
      [&log](bool ok, const std::string &message) { log.event(ok ? level::info : level::warn, message); });
}

/// The control plane's: the admin API is off (404) until an admin token is configured.
filters::filter_chain control_chain(const config::access_tokens &tokens, const filters::endpoint_table &table,
                                    runtime::metrics &stats, const runtime::service_log &log) {
  http::response off = http::response::error(404, "admin_disabled",
                                             "the admin API is off: give the service an admin token "
                                             "(auth.admin_token_file or AGGREGATOR_ADMIN_TOKEN)");
  return filters::filter_chain{
      list_of(std::make_unique<filters::access_log_filter>(stats, log), std::make_unique<filters::timing_filter>(),
              std::make_unique<filters::request_id_filter>(), std::make_unique<filters::routing_filter>(table),
              std::make_unique<filters::token_access_filter>(
                  http::bearer_auth{configured({tokens.admin}), "aggregator admin"}, std::move(off)))};
}

std::shared_ptr<stages::shared_state> shared_stages(const client::upstream_client &loops,
                                                    const runtime::service_log &log) {
  return std::make_shared<stages::shared_state>(
      loops.loop_count(), loops.options().max_connections_per_origin,
      [&log](std::string_view origin, stages::breaker_state now) {
        log.event(now == stages::breaker_state::open ? level::warn : level::info,
                  "circuit breaker of " + std::string{origin} + " is now " + std::string{to_string(now)});
      });
}

}  // namespace

service::service(config::service_config config, const config::access_tokens &tokens, const runtime::service_log &log,
                 std::string config_file, boost::json::value file_json)
    : config_(std::move(config)),
      log_(log),
      loops_(config_.client),
      store_(config_.store.enabled() ? std::make_unique<store::redis_store>(config_.store, config_.jobs.lease, loops_,
                                                                            log_, tokens.redis_password)
                                     : nullptr),
      routes_(config_.routes, std::move(config_file), std::move(file_json)),
      shared_routes_(store_ ? std::make_unique<store::shared_routes>(*store_, routes_, log_) : nullptr),
      stages_(shared_stages(loops_, log)),
      aggregations_(config_.server.max_aggregations),
      unsent_(config_.server.max_unsent_bytes),
      jobs_(jobs::job_limits{config_.jobs.max_jobs, config_.jobs.keep_finished, config_.jobs.max_bytes,
                             config_.jobs.max_per_client}),
      shared_jobs_(store_ ? std::make_unique<store::shared_jobs>(*store_, jobs_, config_.jobs, log_) : nullptr),
      sync_pool_(config_.server.sync_threads, config_.server.sync_queue),
      door_(stages_, sync_pool_, loops_.options()),
      jwks_(jwks_refresher_for(config_.auth, tokens, log_)),
      traces_(trace_exporter_for(config_.telemetry, log_)),
      credentials_(data_credentials(tokens, jwks_.get())),
      data_endpoints_({door_, stats_, log_, &aggregations_, traces_.get()},
                      {door_, jobs_, routes_, config_.jobs, guard_, shared_jobs_.get()},
                      {loops_, aggregations_, store_.get()}),
      data_chain_(data_chain(config_, credentials_, data_endpoints_, aggregations_, unsent_, stats_, log_, guard_,
                             traces_.get(), store_.get())),
      control_endpoints_(control::metrics_endpoint{stats_, [this] { return gauges(); }, *stages_},
                         control::admin_endpoint{routes_, log_}, {loops_, aggregations_, store_.get()}),
      control_chain_(control_chain(tokens, control_endpoints_, stats_, log_)),
      data_(config_.server, loops_, data_chain_, aggregations_, unsent_, log_),
      control_(config_.server, control_chain_) {
  stages_->use_store(store_.get());  // cache.shared's Redis (null: the local cache alone)
}

service::~service() { loops_.stop(); }

service::ports service::bind() { return ports{data_.bind(), control_.bind()}; }

void service::start() {
  if (store_) store_->start();  // before the first request: a limit finds its link connecting, not absent
  if (shared_routes_) shared_routes_->start();  // the shared table, when Redis has one, from the first request
  if (shared_jobs_) shared_jobs_->start();
  data_.start();
  if (jwks_) jwks_->start(loops_.loop(0));
  if (traces_) traces_->start(loops_.loop(loops_.loop_count() - 1));
}

bool service::shut_down(std::chrono::milliseconds grace) {
  const bool whole = data_.shut_down(grace);
  if (traces_) traces_->flush(config_.telemetry->timeout);  // the spans of the requests just finished
  return whole;
}

runtime::metrics::gauges service::gauges() {
  runtime::metrics::gauges now;
  now.aggregations_in_flight = aggregations_.in_flight();
  now.transfers_in_flight = loops_.transfers_in_flight();
  now.open_connections = data_.open_connections();
  now.connections_refused = data_.refused_connections();
  now.connections_evicted = data_.evicted_connections();
  using http2 = front::data_plane::http2_event;
  now.http2_connections = data_.http2_count(http2::connection);
  now.http2_rapid_resets = data_.http2_count(http2::rapid_reset);
  now.http2_control_floods = data_.http2_count(http2::control_flood);
  now.http2_protocol_errors = data_.http2_count(http2::protocol_error);
  if (const front::server_tls *tls = data_.tls()) {
    const front::handshake_counts handshakes = tls->counts();
    now.tls = true;
    now.tls_full = handshakes.full;
    now.tls_resumed = handshakes.resumed;
    now.tls_failed = handshakes.failed;
    now.tls_timed_out = handshakes.timed_out;
    now.tls_not_after = tls->not_after();
  }
  now.unsent_bytes = unsent_.held();
  if (store_) {
    now.redis = store_->counts();
    now.rate_limit_fallbacks = guard_.limits != nullptr ? guard_.limits->fallbacks() : 0;
  }
  now.sync_queued = sync_pool_.queued();
  now.loop_lag_seconds = std::chrono::duration<double>(loops_.take_max_lag()).count();
  const auto connections = client::connections_so_far();
  now.upstream_connections_opened = connections.opened;
  now.upstream_connections_reused = connections.reused;
  if (jwks_) {
    now.jwks_refreshes = jwks_->refreshed();
    now.jwks_refresh_failures = jwks_->failures();
  }
  if (traces_) {
    const telemetry::export_counts spans = traces_->counts();
    now.otlp_exported = spans.exported;
    now.otlp_dropped = spans.dropped;
    now.otlp_failed = spans.failed;
    now.otlp_queued = spans.queued;
  }
  return now;
}

void service::reload_routes() {
  if (front::server_tls *tls = data_.tls()) {
    // New connections use the new pair; open ones keep the one they started with.
    if (const auto refused = tls->reload())
      log_.event(level::error, "reload: " + *refused + "; the certificate in force keeps serving");
    else
      log_.event(level::info, "reloaded the certificate and key from " + tls->settings().cert_file + " and " +
                                  tls->settings().key_file);
  }
  if (routes_.file().empty()) return log_.event(level::warn, "SIGHUP ignored: no --config file to reload");
  auto reloaded = routes_.reload();
  if (const auto *errors = std::get_if<config::config_errors>(&reloaded)) {
    for (const auto &error : *errors) log_.event(level::error, "reload: " + to_string(error));
    log_.event(level::error, "reload refused: " + std::to_string(errors->size()) + " problem(s) in " + routes_.file() +
                                 "; the routes in force keep serving");
    return;
  }
  const auto &result = std::get<config::live_routes::reloaded>(reloaded);
  log_.event(level::info, "reloaded " + std::to_string(result.routes) + " route(s) from " + routes_.file());
  if (!result.sections_changed.empty()) {
    std::string names;
    for (const auto &name : result.sections_changed) {
      if (!names.empty()) names += ", ";
      names += name;
    }
    log_.event(level::warn, "reload: " + names + " changed in " + routes_.file() +
                                " but only routes change on SIGHUP: restart to apply " +
                                (result.sections_changed.size() == 1 ? "it" : "them"));
  }
}

}  // namespace agg::app
