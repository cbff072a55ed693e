#include "aggregator/filters/identity_filter.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>

namespace agg::filters {

namespace {

using need = config::credential_need;
constexpr std::string_view realm = "realm=\"aggregator\"";

/// What an RFC 7235 quoted string may hold of a reason: no quote, backslash or control character.
std::string quotable(std::string_view text) {
  std::string out;
  for (const char c : text)
    out += (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '\'' : c;
  return out;
}

/// The schemes a request could satisfy `wanted` with, as WWW-Authenticate challenges.
std::string challenges(const auth::credentials &known, need wanted, std::string_view bearer_params = {}) {
  std::string out;
  const auto add = [&out](std::string_view scheme, std::string_view params) {
    if (!out.empty()) out += ", ";
    out += scheme;
    out += ' ';
    out += params;
  };
  const bool bearer = wanted == need::jwt || (wanted == need::any && known.takes_bearer());
  if (bearer) add("Bearer", bearer_params.empty() ? realm : bearer_params);
  if ((wanted == need::api_key || wanted == need::any) && known.takes_api_keys()) add("ApiKey", realm);
  return out;
}

std::string_view needed(need wanted) {
  switch (wanted) {
    case need::jwt: return "a JWT (Authorization: Bearer <token>)";
    case need::api_key: return "an API key (X-API-Key: <key>, or Authorization: ApiKey <key>)";
    default: return "a credential (Authorization: Bearer <token>, or an API key as X-API-Key)";
  }
}

bool satisfies(const auth::identity &who, need wanted) {
  switch (wanted) {
    case need::jwt: return who.by == auth::identity::kind::jwt;
    case need::api_key: return who.by == auth::identity::kind::api_key;
    default: return true;
  }
}

}  // namespace

bool claim_holds(const boost::json::value &claim, std::string_view wanted) {
  if (const auto *s = claim.if_string()) {
    const std::string_view text{*s};
    if (text == wanted) return true;
    for (std::size_t pos = 0; pos <= text.size();) {
      const std::size_t end = std::min(text.find(' ', pos), text.size());
      if (text.substr(pos, end - pos) == wanted) return true;
      pos = end + 1;
    }
    return false;
  }
  if (const auto *a = claim.if_array())
    return std::any_of(a->begin(), a->end(), [wanted](const boost::json::value &v) { return claim_holds(v, wanted); });
  if (claim.is_number() || claim.is_bool()) return boost::json::serialize(claim) == wanted;
  return false;
}

std::optional<http::response> identity_filter::on_request(exchange &x) const {
  request_context &r = x.request();
  if (r.match.open) return std::nullopt;
  return authorize(r, r.match.route.get());
}

std::optional<http::response> identity_filter::authorize(request_context &r, const config::route_config *route) const {
  const config::access_policy fallback{known_.any() ? need::any : need::none, {}, {}};
  const config::access_policy &policy = route != nullptr && route->access ? *route->access : fallback;
  if (policy.require == need::client_cert) return authorize_certificate(r, policy);
  if (!r.identity) {
    auto presented = known_.check(r.request.header("Authorization"), r.request.header("X-API-Key"));
    if (policy.require == need::none) {
      if (presented.who) r.identity = std::move(presented.who);  // who it is, for limits and templates
      return std::nullopt;
    }
    if (!presented.who) {
      const bool sent = presented.sent != auth::presented_credential::scheme::none;
      const bool bad_bearer = presented.sent == auth::presented_credential::scheme::bearer;
      stats_.record_rejection(r.route, "unauthenticated");
      http::response refused =
          !sent
              ? http::response::error(401, "unauthorized", "this endpoint needs " + std::string{needed(policy.require)})
          : bad_bearer ? http::response::error(401, "invalid_token", presented.refusal)
                       : http::response::error(401, "invalid_credential", presented.refusal);
      const std::string bearer_error = bad_bearer
                                           ? std::string{realm} + ", error=\"invalid_token\", error_description=\"" +
                                                 quotable(presented.refusal) + "\""
                                           : std::string{};
      return std::move(refused.with_header("WWW-Authenticate", challenges(known_, policy.require, bearer_error)));
    }
    r.identity = std::move(presented.who);
  }
  if (policy.require == need::none) return std::nullopt;
  if (!satisfies(*r.identity, policy.require)) {
    stats_.record_rejection(r.route, "unauthenticated");
    http::response refused =
        http::response::error(401, "unauthorized", "this route needs " + std::string{needed(policy.require)});
    return std::move(refused.with_header("WWW-Authenticate", challenges(known_, policy.require)));
  }
  for (const auto &[name, wanted] : policy.claims) {
    const boost::json::value *claim = r.identity->claims && r.identity->claims->is_object()
                                          ? r.identity->claims->get_object().if_contains(name)
                                          : nullptr;
    if (claim != nullptr && claim_holds(*claim, wanted)) continue;
    stats_.record_rejection(r.route, "forbidden");
    http::response refused =
        http::response::error(403, "insufficient_scope",
                              "the token's " + name + " claim does not hold " + wanted + ", which this route needs");
    const std::string params = std::string{realm} + ", error=\"insufficient_scope\"" +
                               (name == "scope" ? ", scope=\"" + quotable(wanted) + "\"" : std::string{});
    return std::move(refused.with_header("WWW-Authenticate", "Bearer " + params));
  }
  return std::nullopt;
}

std::optional<http::response> identity_filter::authorize_certificate(request_context &r,
                                                                     const config::access_policy &policy) const {
  if (r.client_subject.empty()) {
    stats_.record_rejection(r.route, "unauthenticated");
    return http::response::error(401, "client_certificate_required",
                                 "this route needs a client certificate (mutual TLS) signed by the CA in "
                                 "server.tls.client_ca_file; the connection presented none");
  }
  if (!policy.client_subjects.empty() && std::find(policy.client_subjects.begin(), policy.client_subjects.end(),
                                                   r.client_subject) == policy.client_subjects.end()) {
    stats_.record_rejection(r.route, "forbidden");
    return http::response::error(
        403, "client_certificate_not_allowed",
        "the client certificate's subject " + r.client_subject + " is not one of this route's access.client_subjects");
  }
  r.identity = auth::identity{auth::identity::kind::client_cert, r.client_subject, nullptr};
  return std::nullopt;
}

}  // namespace agg::filters
