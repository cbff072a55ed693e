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

bool same_as_any(std::string_view given, const std::vector<std::string> &expected) noexcept {
  bool accepted = false;
  for (const auto &secret : expected) accepted |= same_secret(given, secret);  // no early exit
  return accepted;
}

std::optional<std::string_view> credential_after(std::string_view authorization, std::string_view scheme) noexcept {
  if (authorization.size() <= scheme.size() + 1 || authorization[scheme.size()] != ' ' ||
      !text::equal_ignoring_case(authorization.substr(0, scheme.size()), scheme))
    return std::nullopt;
  return authorization.substr(scheme.size() + 1);
}

bearer_auth::bearer_auth(std::vector<std::string> tokens, std::string realm)
    : tokens_(std::move(tokens)), challenge_("Bearer realm=\"" + realm + "\"") {}

std::optional<bearer_auth::refusal> bearer_auth::check(std::optional<std::string_view> authorization) const {
  if (open()) return std::nullopt;
  const auto token = credential_after(authorization.value_or(""), "Bearer");
  if (!token)
    return refusal{401, error_json("unauthorized", "this endpoint needs a token: send Authorization: Bearer <token>"),
                   challenge_};
  if (same_as_any(*token, tokens_)) return std::nullopt;
  return refusal{403, error_json("forbidden", "the token does not grant access to this endpoint"), std::nullopt};
}

}  // namespace agg::http
