#pragma once

#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aggregator/auth/api_keys.hpp"
#include "aggregator/auth/jwt_verifier.hpp"

namespace agg::auth {

/// Who a request comes from, by the credential it verified with. Never the credential itself.
struct identity {
  enum class kind { client_token, jwt, api_key, client_cert };
  kind by = kind::client_token;
  std::string name;  ///< the JWT's `sub`, the API key's name, the certificate's subject, or "client-token"
  std::shared_ptr<const boost::json::value> claims;  ///< a JWT's verified claims set (an object)

  /// What the access log and rate-limit keys say: `jwt:alice`, `key:mobile-app`, `cert:CN=reports`,
  /// `client-token`.
  [[nodiscard]] std::string label() const;
};

/// The credential a request presented, and what came of it.
struct presented_credential {
  enum class scheme { none, bearer, api_key, other };
  scheme sent = scheme::none;
  std::optional<identity> who;  ///< set when it verified
  std::string refusal;          ///< why it did not (empty when it did, or nothing was sent)
};

/// The credentials the data plane knows: the shared client token (`auth.client_token_file`), JWTs
/// (`auth.jwt`), API keys (`auth.api_keys_file`). Reads a request's `Authorization: Bearer` (the
/// client token, else a JWT), `Authorization: ApiKey` or `X-API-Key`. Thread-safe.
class credentials {
 public:
  /// `client_tokens`: the bearer tokens that pass as the client token (the client's, and the
  /// admin's beside it), none when no client token is configured.
  /// `on_unknown_key`: told when a token names a kid no key has (a JWKS URL's refresher).
  credentials(std::vector<std::string> client_tokens, std::shared_ptr<jwt_verifier> jwt,
              std::shared_ptr<const api_keys> keys, std::function<void()> on_unknown_key = {}) noexcept
      : client_tokens_(std::move(client_tokens)),
        jwt_(std::move(jwt)),
        keys_(std::move(keys)),
        on_unknown_key_(std::move(on_unknown_key)) {}

  /// Some credential kind is configured: routes that say nothing need one.
  [[nodiscard]] bool any() const noexcept { return !client_tokens_.empty() || jwt_ || keys_; }
  [[nodiscard]] bool takes_jwt() const noexcept { return jwt_ != nullptr; }
  [[nodiscard]] bool takes_bearer() const noexcept { return !client_tokens_.empty() || jwt_; }
  [[nodiscard]] bool takes_api_keys() const noexcept { return keys_ != nullptr; }
  [[nodiscard]] const jwt_verifier *jwt() const noexcept { return jwt_.get(); }

  /// What the request's `Authorization` and `X-API-Key` headers present.
  [[nodiscard]] presented_credential check(std::optional<std::string_view> authorization,
                                           std::optional<std::string_view> api_key) const;

 private:
  std::vector<std::string> client_tokens_;
  std::shared_ptr<jwt_verifier> jwt_;
  std::shared_ptr<const api_keys> keys_;
  std::function<void()> on_unknown_key_;
};

}  // namespace agg::auth
