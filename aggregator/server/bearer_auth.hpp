#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "aggregator/server/httplib_fwd.hpp"

namespace agg::server {

/// True when `given` equals `expected`, in a time that depends only on their lengths: a wrong
/// token's running time says nothing about how much of it was right.
bool same_secret(std::string_view given, std::string_view expected) noexcept;

/// A bearer-token check (RFC 6750, `Authorization: Bearer <token>`) in front of some endpoints.
/// Thread-safe (immutable).
class bearer_auth {
 public:
  /// `tokens`: each one grants access; none: every request passes. `realm` names what is protected.
  bearer_auth(std::vector<std::string> tokens, std::string realm)
      : tokens_(std::move(tokens)), realm_(std::move(realm)) {}

  /// True when no token is configured, i.e. every request passes.
  [[nodiscard]] bool open() const noexcept { return tokens_.empty(); }

  /// True when `request` may pass. Otherwise the response holds the refusal: 401 with
  /// `WWW-Authenticate: Bearer` when it brought no bearer token, 403 when the token is wrong.
  bool admit(const httplib::Request &request, httplib::Response &response) const;

 private:
  std::vector<std::string> tokens_;
  std::string realm_;
};

}  // namespace agg::server
