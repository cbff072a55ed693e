#pragma once

#include <string_view>

#include "aggregator/config/live_routes.hpp"
#include "aggregator/filters/request_context.hpp"
#include "aggregator/http/response.hpp"

namespace agg::control {

/// The routes admin API, REST generic views over the live routes:
/// `GET /admin/routes?page=&page_size=` (paginated: count, next, previous, results),
/// `POST /admin/routes` → 201 + Location, `GET|PUT|PATCH|DELETE /admin/routes/{name}` → 200 / 204.
/// Bodies are route definitions as in the config file; what it shows adds the read-only `endpoints`,
/// which input may carry back and is ignored. Refusals: 400 with per-field `errors`, 404, 409, 415.
/// Authentication is the filter chain's. Thread-safe; the routes must outlive it.
class route_admin_api {
 public:
  explicit route_admin_api(config::live_routes &routes) noexcept : routes_(routes) {}

  /// True for /admin and every path under /admin/.
  [[nodiscard]] static bool serves(std::string_view path) noexcept;
  /// The answer to the request: a JSON object body (without `elapsed`), or 204 and no body.
  [[nodiscard]] http::response serve(const filters::request_context &request) const;

 private:
  [[nodiscard]] http::response list(const filters::request_context &request) const;
  [[nodiscard]] http::response change(const filters::request_context &request, std::string_view name) const;

  config::live_routes &routes_;
};

}  // namespace agg::control
