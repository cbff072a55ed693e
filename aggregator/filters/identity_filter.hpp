#pragma once

#include "aggregator/auth/credentials.hpp"
#include "aggregator/filters/request_filter.hpp"
#include "aggregator/runtime/metrics.hpp"

namespace agg::filters {

/// Who may call what (the data plane's access control): reads the request's credential (the client
/// token or a JWT as `Authorization: Bearer`, an API key as `Authorization: ApiKey` or `X-API-Key`),
/// keeps the identity it verifies in the request's context, and holds the request to its route's
/// `access` (by default: any credential when the service has one configured, else none). Missing or
/// invalid: 401 with `WWW-Authenticate` (RFC 6750 `invalid_token` and its reason for a bad bearer
/// token); valid but without the claims the route wants: 403 (`insufficient_scope`). Open endpoints
/// (probes, the page) pass untouched. A route that requires `client_cert` takes the subject of the
/// certificate the connection's TLS handshake verified: none is 401 (`client_certificate_required`),
/// a subject not in its `client_subjects` 403 (`client_certificate_not_allowed`).
class identity_filter final : public request_filter {
 public:
  identity_filter(const auth::credentials &known, runtime::metrics &stats) noexcept : known_(known), stats_(stats) {}
  [[nodiscard]] std::optional<http::response> on_request(exchange &x) const override;

  /// Holds `request` (its identity already read) to `route`'s access (null: the default); what
  /// the job endpoint asks for the route a job names.
  [[nodiscard]] std::optional<http::response> authorize(request_context &request,
                                                        const config::route_config *route) const;

 private:
  [[nodiscard]] std::optional<http::response> authorize_certificate(request_context &request,
                                                                    const config::access_policy &policy) const;

  const auth::credentials &known_;
  runtime::metrics &stats_;
};

/// True when `claim` holds `wanted`: equal, or (a space-separated list such as OAuth's `scope`, or
/// an array) containing it.
bool claim_holds(const boost::json::value &claim, std::string_view wanted);

}  // namespace agg::filters
