#include "aggregator/endpoints/refusal_endpoints.hpp"

namespace agg::endpoints {

void not_found_endpoint::serve(filters::exchange x) const {
  const std::string message = where_to_look_(x.request().path);
  x.respond(http::response::error(404, "not_found", message));
}

void method_not_allowed_endpoint::serve(filters::exchange x) const {
  const std::string methods{x.request().match.methods};
  const std::string message = x.request().request.method + " is not allowed here; use " + methods;
  x.respond(http::response::error(405, "method_not_allowed", message).with_header("Allow", methods));
}

bool allows(std::string_view methods, std::string_view method) noexcept {
  while (!methods.empty()) {
    const std::size_t comma = methods.find(',');
    if (methods.substr(0, comma) == method) return true;
    methods = comma == std::string_view::npos ? std::string_view{} : methods.substr(comma + 2);
  }
  return false;
}

}  // namespace agg::endpoints
