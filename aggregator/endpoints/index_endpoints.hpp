#pragma once

#include "aggregator/config/live_routes.hpp"
#include "aggregator/filters/request_filter.hpp"

namespace agg::endpoints {

/// `GET /`: the endpoints of the data plane, and the routes in force with their parameters and
/// entries (what the `/ui` page builds its form from).
class index_endpoint final : public filters::endpoint {
 public:
  explicit index_endpoint(const config::live_routes &routes) noexcept : routes_(routes) {}
  void serve(filters::exchange x) const override;

 private:
  const config::live_routes &routes_;
};

/// The files of the `/ui` page (ui_assets), with a Content-Security-Policy that lets them load
/// nothing but themselves and talk to nothing but this service. Served without the client token:
/// the page holds no data, and asks for the token to send with the requests it makes.
class ui_endpoint final : public filters::endpoint {
 public:
  void serve(filters::exchange x) const override;
};

}  // namespace agg::endpoints
