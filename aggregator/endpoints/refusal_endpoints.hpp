#pragma once

#include <string>
#include <string_view>

#include "aggregator/filters/request_filter.hpp"

namespace agg::endpoints {

/// 404 for a path nobody serves on this listener; `where_to_look` ends the message (what the
/// listener serves, or where to find it).
class not_found_endpoint final : public filters::endpoint {
 public:
  using hint = std::string (*)(std::string_view path);
  explicit not_found_endpoint(hint where_to_look) noexcept : where_to_look_(where_to_look) {}
  void serve(filters::exchange x) const override;

 private:
  hint where_to_look_;
};

/// 405 with `Allow` for a method the matched endpoint does not take (its methods are the match's).
class method_not_allowed_endpoint final : public filters::endpoint {
 public:
  void serve(filters::exchange x) const override;
};

/// True when `method` is one of the comma-separated `methods` ("GET, HEAD").
bool allows(std::string_view methods, std::string_view method) noexcept;

}  // namespace agg::endpoints
