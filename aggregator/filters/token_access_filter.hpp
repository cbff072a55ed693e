#pragma once

#include <optional>

#include "aggregator/filters/request_filter.hpp"
#include "aggregator/http/bearer_auth.hpp"

namespace agg::filters {

/// Access by bearer token (RFC 6750): a request to an endpoint that is not open needs one of the
/// tokens, else 401 (with WWW-Authenticate) or 403. With no token configured, every request passes,
/// or, when `answer_when_off` is given, a request that needs one gets that answer instead (the admin
/// API is off without its token).
class token_access_filter final : public request_filter {
 public:
  explicit token_access_filter(http::bearer_auth tokens, std::optional<http::response> answer_when_off = std::nullopt)
      : tokens_(std::move(tokens)), answer_when_off_(std::move(answer_when_off)) {}
  [[nodiscard]] std::optional<http::response> on_request(exchange &x) const override;

 private:
  http::bearer_auth tokens_;
  std::optional<http::response> answer_when_off_;
};

}  // namespace agg::filters
