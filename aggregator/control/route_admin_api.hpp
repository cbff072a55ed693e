#pragma once

#include <string_view>

#include "aggregator/config/live_routes.hpp"
#include "aggregator/control/httplib_fwd.hpp"

namespace agg::control {

/// The routes admin API, REST generic views over the live routes:
/// `GET /admin/routes?page=&page_size=` (paginated: count, next, previous, results),
/// `POST /admin/routes` → 201 + Location, `GET|PUT|PATCH|DELETE /admin/routes/{name}` → 200 / 204.
/// Bodies are route definitions as in the config file; what it shows adds the read-only `endpoints`,
/// which input may carry back and is ignored. Refusals: 400 with per-field `errors`, 404, 409, 415.
/// Authentication is the front's. Thread-safe; the routes must outlive it.
class route_admin_api {
 public:
  explicit route_admin_api(config::live_routes &routes) noexcept : routes_(routes) {}

  /// True for /admin and every path under /admin/.
  [[nodiscard]] static bool serves(std::string_view path) noexcept;
  /// Answers the request: sets status and a JSON object body (without `elapsed`), or 204 and no body.
  void serve(const httplib::Request &request, httplib::Response &response) const;

 private:
  void list(const httplib::Request &request, httplib::Response &response) const;
  void change(const httplib::Request &request, httplib::Response &response, std::string_view name) const;

  config::live_routes &routes_;
};

}  // namespace agg::control
