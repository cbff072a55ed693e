#pragma once

#include "aggregator/client/upstream_client.hpp"
#include "aggregator/config/live_routes.hpp"
#include "aggregator/config/service_config.hpp"
#include "aggregator/jobs/job_store.hpp"
#include "aggregator/server/httplib_fwd.hpp"

namespace agg::server {

/// The background-jobs endpoints: `POST /api/jobs` with {"route", "params", "deadline_ms"} starts an
/// aggregation and answers 202 at once; `GET /api/jobs/{id}` reports status, progress and, when
/// finished, the aggregate; `DELETE /api/jobs/{id}` cancels. A job keeps the route it started
/// with. Thread-safe; the config, routes, client and store must outlive it.
class job_api {
 public:
  job_api(const config::service_config &config, const config::live_routes &routes, client::upstream_client &client,
          jobs::job_store &store) noexcept
      : config_(config), routes_(routes), client_(client), store_(store) {}

  /// True for the paths it serves: /api/jobs and /api/jobs/{id}.
  [[nodiscard]] static bool serves(std::string_view path) noexcept;
  /// Answers the request: sets status and a JSON object body (without `elapsed`).
  void serve(const httplib::Request &request, httplib::Response &response) const;

 private:
  void create(const httplib::Request &request, httplib::Response &response) const;

  const config::service_config &config_;
  const config::live_routes &routes_;
  client::upstream_client &client_;
  jobs::job_store &store_;
};

}  // namespace agg::server
