#include "aggregator/server/bearer_auth.hpp"

#include <httplib.h>

#include "aggregator/config/character_rules.hpp"
#include "aggregator/server/json_response.hpp"

namespace agg::server {

bool same_secret(std::string_view given, std::string_view expected) noexcept {
  unsigned difference = given.size() == expected.size() ? 0U : 1U;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto g = static_cast<unsigned char>(i < given.size() ? given[i] : 0);
    difference |= g ^ static_cast<unsigned char>(expected[i]);
  }
  return difference == 0;
}

bool bearer_auth::admit(const httplib::Request &request, httplib::Response &response) const {
  if (open()) return true;
  constexpr std::string_view scheme = "Bearer ";
  const std::string authorization = request.get_header_value("Authorization");
  // The scheme is case-insensitive (RFC 7235); the token is what follows it.
  const bool bearer = authorization.size() > scheme.size() &&
                      config::equal_ignoring_case(std::string_view{authorization}.substr(0, scheme.size()), scheme);
  if (!bearer) {
    response.set_header("WWW-Authenticate", "Bearer realm=\"" + realm_ + "\"");
    set_reply(response, 401,
              error_json("unauthorized", "this endpoint needs a token: send Authorization: Bearer <token>"));
    return false;
  }
  const std::string_view token = std::string_view{authorization}.substr(scheme.size());
  bool accepted = false;
  for (const auto &expected : tokens_) accepted |= same_secret(token, expected);  // no early exit
  if (accepted) return true;
  set_reply(response, 403, error_json("forbidden", "the token does not grant access to this endpoint"));
  return false;
}

}  // namespace agg::server
