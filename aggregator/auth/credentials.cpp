#include "aggregator/auth/credentials.hpp"

#include "aggregator/http/bearer_auth.hpp"

namespace agg::auth {

std::string identity::label() const {
  switch (by) {
    case kind::jwt: return "jwt:" + name;
    case kind::api_key: return "key:" + name;
    case kind::client_cert: return "cert:" + name;
    case kind::client_token: break;
  }
  return "client-token";
}

presented_credential credentials::check(std::optional<std::string_view> authorization,
                                        std::optional<std::string_view> api_key) const {
  presented_credential out;
  std::optional<std::string_view> bearer;
  if (authorization) {
    bearer = http::credential_after(*authorization, "Bearer");
    if (!bearer) api_key = http::credential_after(*authorization, "ApiKey").value_or(api_key.value_or(""));
    if (!bearer && api_key->empty()) {
      out.sent = presented_credential::scheme::other;
      out.refusal = "the Authorization scheme is neither Bearer nor ApiKey";
      return out;
    }
  }
  if (bearer) {
    out.sent = presented_credential::scheme::bearer;
    if (http::same_as_any(*bearer, client_tokens_)) {
      out.who = identity{identity::kind::client_token, "client-token", nullptr};
      return out;
    }
    if (!jwt_) {
      out.refusal = "the bearer token is not valid";
      return out;
    }
    auto verified = jwt_->verify(*bearer);
    if (auto *refused = std::get_if<token_refusal>(&verified)) {
      if (refused->unknown_key && on_unknown_key_) on_unknown_key_();  // a rotation, perhaps
      out.refusal = std::move(refused->reason);
      return out;
    }
    auto &token = std::get<verified_token>(verified);
    out.who = identity{identity::kind::jwt, std::move(token.subject), std::move(token.claims)};
    return out;
  }
  if (api_key) {
    out.sent = presented_credential::scheme::api_key;
    const auto name = keys_ ? keys_->name_of(*api_key) : std::nullopt;
    if (name)
      out.who = identity{identity::kind::api_key, std::string{*name}, nullptr};
    else
      out.refusal = keys_ ? "the API key is not valid" : "this service takes no API keys";
  }
  return out;
}

}  // namespace agg::auth
