#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "aggregator/auth/credentials.hpp"
#include "aggregator/auth/jwks_refresher.hpp"
#include "aggregator/client/upstream_client.hpp"
#include "aggregator/config/access_tokens.hpp"
#include "aggregator/config/live_routes.hpp"
#include "aggregator/config/service_config.hpp"
#include "aggregator/control/control_endpoints.hpp"
#include "aggregator/control/control_plane.hpp"
#include "aggregator/endpoints/data_endpoints.hpp"
#include "aggregator/fanout/aggregations.hpp"
#include "aggregator/filters/filter_chain.hpp"
#include "aggregator/filters/route_guard.hpp"
#include "aggregator/front/data_plane.hpp"
#include "aggregator/jobs/job_store.hpp"
#include "aggregator/loop/blocking_pool.hpp"
#include "aggregator/runtime/admission.hpp"
#include "aggregator/runtime/metrics.hpp"
#include "aggregator/runtime/service_log.hpp"
#include "aggregator/stages/shared_state.hpp"
#include "aggregator/store/redis_store.hpp"
#include "aggregator/store/shared_jobs.hpp"
#include "aggregator/store/shared_routes.hpp"
#include "aggregator/telemetry/trace_exporter.hpp"

namespace agg::app {

/// The service assembled from one config: the event loops, the routes in force, what the call
/// stages share, admission, jobs, the sync baseline's pool, the metrics, the aggregation's door, and
/// the two planes, each with its filter chain and endpoints. The one place that knows every part and
/// hands each exactly what it needs. main, the end-to-end tests and the fuzz targets build it.
class service {
 public:
  /// Route changes are saved to `config_file` (with the rest of `file_json`, the file as loaded)
  /// when one is given. `log` must outlive it.
  service(config::service_config config, const config::access_tokens &tokens, const runtime::service_log &log,
          std::string config_file = {}, boost::json::value file_json = {});
  service(const service &) = delete;
  service &operator=(const service &) = delete;
  /// Stops the loops first, so that what their last coroutines touch is still there.
  ~service();

  struct ports {
    std::uint16_t data = 0;
    std::uint16_t control = 0;
  };
  /// Binds both planes' addresses (port 0: a free one). Throws std::runtime_error saying why not.
  ports bind();
  /// The data plane starts serving on every loop.
  void start();
  /// Serves the control plane on the calling thread until stop_control(); false when its listener failed.
  bool run_control() { return control_.run(); }
  /// Graceful stop of the data plane (see data_plane::shut_down), then the spans of what it finished
  /// are sent (telemetry.timeout_ms at most); true when nothing was cancelled.
  bool shut_down(std::chrono::milliseconds grace);
  void stop_control() { control_.stop(); }
  /// SIGHUP: the config file's routes replace the live ones when the file is valid; otherwise every
  /// problem is logged and the routes in force keep serving.
  void reload_routes();

  [[nodiscard]] const config::service_config &config() const noexcept { return config_; }
  [[nodiscard]] config::live_routes &routes() noexcept { return routes_; }
  [[nodiscard]] const client::upstream_client &loops() const noexcept { return loops_; }
  [[nodiscard]] const runtime::admission &aggregations() const noexcept { return aggregations_; }
  [[nodiscard]] front::data_plane &data() noexcept { return data_; }
  /// What /metrics reads from the parts that own it (connections, in flight, loop lag).
  [[nodiscard]] runtime::metrics::gauges gauges();

 private:
  config::service_config config_;
  const runtime::service_log &log_;
  client::upstream_client loops_;
  std::unique_ptr<store::redis_store> store_;  // null without store.redis_url
  config::live_routes routes_;
  std::unique_ptr<store::shared_routes> shared_routes_;  // null without store.redis_url
  std::shared_ptr<stages::shared_state> stages_;
  runtime::admission aggregations_;
  runtime::unsent_bytes unsent_;
  jobs::job_store jobs_;
  std::unique_ptr<store::shared_jobs> shared_jobs_;  // null without store.redis_url
  loop::blocking_pool sync_pool_;
  runtime::metrics stats_;
  fanout::aggregations door_;
  std::unique_ptr<auth::jwks_refresher> jwks_;         // null without auth.jwt.jwks_url
  std::unique_ptr<telemetry::trace_exporter> traces_;  // null without telemetry
  auth::credentials credentials_;
  filters::route_guard guard_;  // filled in when data_chain_ is built; read by the jobs endpoint
  endpoints::data_endpoints data_endpoints_;
  filters::filter_chain data_chain_;
  control::control_endpoints control_endpoints_;
  filters::filter_chain control_chain_;
  front::data_plane data_;
  control::control_plane control_;
};

}  // namespace agg::app
