#include "aggregator/http/bearer_auth.hpp"

#include "aggregator/http/error_body.hpp"
#include "aggregator/text/character_rules.hpp"

namespace agg::http {

bool same_secret(std::string_view given, std::string_view expected) noexcept {
  unsigned difference = given.size() == expected.size() ? 0U : 1U;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto g = static_cast<unsigned char>(i < given.size() ? given[i] : 0);
    difference |= g ^ static_cast<unsigned char>(expected[i]);
  }
  return difference == 0;
}

bearer_auth::bearer_auth(std::vector<std::string> tokens, std::string realm)
    : tokens_(std::move(tokens)), challenge_("Bearer realm=\"" + realm + "\"") {}

std::optional<bearer_auth::refusal> bearer_auth::check(std::optional<std::string_view> authorization) const {
  if (open()) return std::nullopt;
  constexpr std::string_view scheme = "Bearer ";
  const std::string_view given = authorization.value_or("");
  // The scheme is case-insensitive (RFC 7235); the token is what follows it.
  if (given.size() <= scheme.size() || !text::equal_ignoring_case(given.substr(0, scheme.size()), scheme))
    return refusal{401, error_json("unauthorized", "this endpoint needs a token: send Authorization: Bearer <token>"),
                   challenge_};
  const std::string_view token = given.substr(scheme.size());
  bool accepted = false;
  for (const auto &expected : tokens_) accepted |= same_secret(token, expected);  // no early exit
  if (accepted) return std::nullopt;
  return refusal{403, error_json("forbidden", "the token does not grant access to this endpoint"), std::nullopt};
}

}  // namespace agg::http
