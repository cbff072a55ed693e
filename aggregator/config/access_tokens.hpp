#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "aggregator/auth/api_keys.hpp"
#include "aggregator/auth/jwt_verifier.hpp"
#include "aggregator/client/client_options.hpp"
#include "aggregator/config/config_error.hpp"
#include "aggregator/config/environment_values.hpp"
#include "aggregator/config/service_config.hpp"

namespace agg::config {

/// The bearer tokens the front checks. No admin token: the admin API is off. No client token: the
/// aggregation endpoints are open.
struct access_tokens {
  std::optional<std::string> admin;
  std::optional<std::string> client;
  std::shared_ptr<auth::jwt_verifier> jwt;         ///< `auth.jwt`: its keys loaded
  std::shared_ptr<const auth::api_keys> api_keys;  ///< `auth.api_keys_file`: its entries read
  /// Redis's password (store): redis_url's, `store.password_file`'s or AGGREGATOR_REDIS_PASSWORD's.
  std::string redis_password;
};

/// Reads the Redis password into `tokens` from one of its sources (see access_tokens::redis_password),
/// the file relative to `config_dir` and private like a token's; errors name the source.
void load_store_password(const store_config &store, const std::string &config_dir,
                         const environment_lookup &environment, access_tokens &tokens, config_errors &errors);

/// Reads each token from its file (`auth.admin_token_file`, relative to `config_dir`) or from its
/// environment variable (AGGREGATOR_ADMIN_TOKEN, AGGREGATOR_CLIENT_TOKEN), never from the command
/// line, where other users can read it. One source per token; a trailing newline is dropped; a token
/// is 16 to 4096 characters of [A-Za-z0-9-._~+/=] (RFC 6750), and the two tokens differ.
/// Also reads auth.jwt's keys (`jwks_file`, `jwks_url` fetched once now with the upstream client's
/// options (`client`), or the HMAC secret from `secret_file` or
/// AGGREGATOR_JWT_SECRET) and `api_keys_file`, and checks that every route's `access` names a
/// credential the service takes (`routes`: none, when only the tokens are wanted).
std::variant<access_tokens, config_errors> load_access_tokens(const auth_config &auth, const std::string &config_dir,
                                                              const environment_lookup &environment,
                                                              const std::vector<route_ptr> &routes = {},
                                                              const client::client_options &client = {});

}  // namespace agg::config
