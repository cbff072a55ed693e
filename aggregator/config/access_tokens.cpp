#include "aggregator/config/access_tokens.hpp"

#include <cstdlib>
#include <filesystem>

#include "aggregator/auth/jwks_refresher.hpp"
#include "aggregator/client/fetch_blocking.hpp"
#include "aggregator/config/load_config.hpp"
#include "aggregator/config/tls_files.hpp"
#include "aggregator/text/character_rules.hpp"

namespace agg::config {

namespace {

constexpr std::size_t min_token_length = 16;
constexpr std::size_t max_token_length = 4096;

/// An auth file's path: relative ones are in the config's directory.
std::string auth_file_path(const std::string &file, const std::string &config_dir) {
  return (std::filesystem::path{config_dir} / file).string();
}

/// A file's text, relative to the config's directory; nullopt (and an error at `where` that calls
/// it `what`) if unreadable.
std::optional<std::string> read_auth_file(const std::string &file, const std::string &config_dir,
                                          const std::string &where, std::string_view what, config_errors &errors) {
  const std::string path = auth_file_path(file, config_dir);
  auto text = read_config_text(path);
  if (!text) errors.push_back({where, "cannot read " + std::string{what} + path});
  return text;
}

/// A secret (a token, an HMAC key) and where it came from.
struct secret_text {
  std::string text;
  std::string source;  ///< the variable's name, or the config path of the file option
};

/// A secret from its file (`file`, option `where`; its line end dropped) or from its environment
/// variable, never both; nullopt when neither gives one or the file cannot be read (then with an
/// error). `noun` names it in errors.
std::optional<secret_text> load_secret(const std::string &file, const std::string &where, std::string_view variable,
                                       std::string_view noun, const std::string &config_dir,
                                       const environment_lookup &environment, config_errors &errors) {
  auto from_environment = environment(variable);
  if (!file.empty() && from_environment) {
    errors.push_back({where, std::string{variable} + " is set too: give the " + std::string{noun} + " one way"});
    return std::nullopt;
  }
  if (from_environment) return secret_text{std::move(*from_environment), std::string{variable}};
  if (file.empty()) return std::nullopt;
  const std::string what = "the " + std::string{noun} + " file";
  auto text = read_auth_file(file, config_dir, where, what + " ", errors);
  // A secret others can read is no secret; one they can replace lets them in.
  if (!text || !private_file_ok(auth_file_path(file, config_dir), where, what, errors)) return std::nullopt;
  while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
  return secret_text{std::move(*text), where};
}

/// One token from its file or its variable; `where` is the config path of the file option.
std::optional<std::string> load_token(const std::string &file, const std::string &where, std::string_view variable,
                                      const std::string &config_dir, const environment_lookup &environment,
                                      config_errors &errors) {
  auto loaded = load_secret(file, where, variable, "token", config_dir, environment, errors);
  if (!loaded) return std::nullopt;
  std::string &token = loaded->text;
  const std::string &source = loaded->source;
  if (token.size() < min_token_length || token.size() > max_token_length || !text::made_of(token, "-._~+/=")) {
    errors.push_back({source, "the token must be 16 to 4096 characters of A-Z a-z 0-9 - . _ ~ + / ="});
    return std::nullopt;
  }
  return std::move(token);
}

std::shared_ptr<auth::jwt_verifier> load_jwt(const jwt_config &jwt, const std::string &config_dir,
                                             const environment_lookup &environment,
                                             const client::client_options &client, config_errors &errors) {
  const auth::jwt_rules rules{jwt.issuer, jwt.audiences, jwt.algorithms, jwt.leeway, jwt.cache_entries};
  std::variant<auth::key_set, std::string> keys = std::string{};
  std::string where = "auth.jwt.jwks_file";
  if (!jwt.jwks_url.empty()) {
    // At start the keys are fetched here, blocking; the service's loops refresh them afterwards.
    where = "auth.jwt.jwks_url";
    keys = auth::keys_from(client::fetch_blocking(auth::jwks_call(jwt.jwks_url), client),
                           auth::jwks_source{jwt.jwks_url, jwt.refresh, jwt.refresh_min, jwt.algorithms});
  } else if (!jwt.jwks_file.empty()) {
    const auto text = read_auth_file(jwt.jwks_file, config_dir, where, "", errors);
    if (!text) return nullptr;
    keys = auth::key_set::parse_jwks(*text, jwt.algorithms);
  } else {
    where = "auth.jwt.secret_file";
    const std::size_t problems = errors.size();
    const auto secret =
        load_secret(jwt.secret_file, where, "AGGREGATOR_JWT_SECRET", "secret", config_dir, environment, errors);
    if (!secret) {
      if (errors.size() == problems)
        errors.push_back({"auth.jwt", "HMAC algorithms need secret_file or AGGREGATOR_JWT_SECRET"});
      return nullptr;
    }
    keys = auth::key_set::from_secret(secret->text, jwt.algorithms);
  }
  if (auto *problem = std::get_if<std::string>(&keys)) {
    errors.push_back({where, std::move(*problem)});
    return nullptr;
  }
  auto &set = std::get<auth::key_set>(keys);
  if (set.usable() == 0) {
    errors.push_back({where, "holds no key that can verify a token of auth.jwt.algorithms"});
    return nullptr;
  }
  return std::make_shared<auth::jwt_verifier>(rules, std::move(set));
}

/// Every route's access names a credential the service takes.
void check_routes(const std::vector<route_ptr> &routes, const access_tokens &tokens, config_errors &errors) {
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const auto &access = routes[i]->access;
    if (!access) continue;
    const std::string where = "routes[" + std::to_string(i) + "].access.require";
    if (access->require == credential_need::jwt && !tokens.jwt)
      errors.push_back({where, "jwt needs auth.jwt (issuer, audiences, keys)"});
    if (access->require == credential_need::api_key && !tokens.api_keys)
      errors.push_back({where, "api_key needs auth.api_keys_file"});
    if (access->require == credential_need::any && !tokens.jwt && !tokens.api_keys && !tokens.client)
      errors.push_back({where, "any needs a credential: auth.jwt, auth.api_keys_file or a client token"});
  }
}

}  // namespace

std::variant<access_tokens, config_errors> load_access_tokens(const auth_config &auth, const std::string &config_dir,
                                                              const environment_lookup &environment,
                                                              const std::vector<route_ptr> &routes,
                                                              const client::client_options &client) {
  config_errors errors;
  access_tokens tokens;
  tokens.admin = load_token(auth.admin_token_file, "auth.admin_token_file", "AGGREGATOR_ADMIN_TOKEN", config_dir,
                            environment, errors);
  tokens.client = load_token(auth.client_token_file, "auth.client_token_file", "AGGREGATOR_CLIENT_TOKEN", config_dir,
                             environment, errors);
  if (tokens.admin && tokens.client && *tokens.admin == *tokens.client)
    errors.push_back({"auth", "the client token must differ from the admin token"});
  if (auth.jwt) tokens.jwt = load_jwt(*auth.jwt, config_dir, environment, client, errors);
  if (!auth.api_keys_file.empty()) {
    if (const auto text = read_auth_file(auth.api_keys_file, config_dir, "auth.api_keys_file", "", errors)) {
      auto keys = auth::api_keys::parse(*text);
      if (auto *problem = std::get_if<std::string>(&keys))
        errors.push_back({"auth.api_keys_file", auth.api_keys_file + " " + *problem});
      else
        tokens.api_keys = std::make_shared<const auth::api_keys>(std::get<auth::api_keys>(std::move(keys)));
    }
  }
  if (errors.empty()) check_routes(routes, tokens, errors);
  if (!errors.empty()) return errors;
  return tokens;
}

}  // namespace agg::config

namespace agg::config {

void load_store_password(const store_config &store, const std::string &config_dir,
                         const environment_lookup &environment, access_tokens &tokens, config_errors &errors) {
  if (!store.enabled()) return;
  if (!store.password.empty()) {
    if (environment("AGGREGATOR_REDIS_PASSWORD"))
      errors.push_back({"store.redis_url", "AGGREGATOR_REDIS_PASSWORD is set too: give the password one way"});
    tokens.redis_password = store.password;
    return;
  }
  if (auto loaded = load_secret(store.password_file, "store.password_file", "AGGREGATOR_REDIS_PASSWORD",
                                "Redis password", config_dir, environment, errors))
    tokens.redis_password = std::move(loaded->text);
}

}  // namespace agg::config
