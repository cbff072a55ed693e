#pragma once

#include <optional>

#include "aggregator/config/service_config.hpp"
#include "aggregator/filters/request_filter.hpp"

namespace agg::filters {

/// Cross-origin requests from browsers (CORS, the Fetch standard): under the route's `cors`, else
/// `server.cors`, a preflight (OPTIONS with Origin and Access-Control-Request-Method) to an endpoint
/// is answered here, 204, before any credential, limit or call is looked at; a preflight from an
/// origin not allowed is refused 403 with no CORS header. Every answer to an allowed origin, a
/// refusal included, says so (Access-Control-Allow-Origin, -Credentials, -Expose-Headers), and every
/// answer under a policy that names origins carries `Vary: Origin`. After routing (the route is
/// known), before identity and limits (a preflight carries no credential and costs nothing).
class cors_filter final : public request_filter {
 public:
  explicit cors_filter(std::optional<config::cors_policy> server) : server_(std::move(server)) {}
  [[nodiscard]] std::optional<http::response> on_request(exchange &x) const override;
  void on_response(request_context &request, http::response &answer) const override;

 private:
  /// The policy a request is under: its route's, else the service's; null for none.
  [[nodiscard]] const config::cors_policy *policy_for(const request_context &request) const noexcept;

  std::optional<config::cors_policy> server_;
};

}  // namespace agg::filters
