#include "aggregator/endpoints/index_endpoints.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "aggregator/endpoints/route_index.hpp"
#include "aggregator/endpoints/ui_assets.hpp"

namespace agg::endpoints {

void index_endpoint::serve(filters::exchange x) const {
  boost::json::array endpoints, routes;
  for (const auto &shared : routes_.current()->routes()) {
    const config::route_config &route = *shared;
    routes.push_back(describe_route(route));
    const char *method = route.takes_body ? "POST" : "GET";
    for (const auto &[path, mode] : {std::pair{route.path, "async"}, std::pair{route.sync_path(), "sync"},
                                     std::pair{route.stream_path(), "stream"}})
      endpoints.push_back(
          boost::json::object{{"path", path}, {"route", route.name}, {"mode", mode}, {"method", method}});
  }
  for (const char *path : {"/api/jobs", "/health", "/ready", "/ui"})
    endpoints.push_back(boost::json::object{{"path", path}});
  x.respond(http::response::json(200, boost::json::serialize(boost::json::object{{"endpoints", std::move(endpoints)},
                                                                                 {"routes", std::move(routes)}})));
}

void ui_endpoint::serve(filters::exchange x) const {
  const ui_asset *asset = ui_asset_at(x.request().path);
  http::response answer{.status = 200, .body = std::string{asset->text}, .content_type = asset->content_type};
  answer.with_header("Content-Security-Policy", std::string{ui_content_security_policy})
      .with_header("X-Content-Type-Options", "nosniff")
      .with_header("Cache-Control", "no-cache");
  x.respond(std::move(answer));
}

}  // namespace agg::endpoints
