#include "aggregator/config/access_tokens.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include "aggregator/config/route_definition.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

using agg::config::access_tokens;
using agg::config::auth_config;
using agg::config::config_errors;
namespace fs = std::filesystem;

namespace {

constexpr const char *admin_token = "admin-token-0123456789abcdef";
constexpr const char *client_token = "client-token-0123456789abcdef";

/// An environment holding exactly `variables`.
agg::config::environment_lookup environment(std::map<std::string, std::string, std::less<>> variables) {
  return [variables = std::move(variables)](std::string_view name) -> std::optional<std::string> {
    const auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
}

struct token_directory {
  fs::path path = fs::temp_directory_path() / ("agg_tokens_" + std::to_string(::getpid()));
  token_directory() { fs::create_directories(path); }
  ~token_directory() { fs::remove_all(path); }
  /// `name` holding `text`, readable by its owner only unless `mode` says otherwise.
  void write(const std::string &name, const std::string &text,
             fs::perms mode = fs::perms::owner_read | fs::perms::owner_write) const {
    std::ofstream{path / name} << text;
    fs::permissions(path / name, mode);
  }
};

std::string first_problem(const std::variant<access_tokens, config_errors> &loaded) {
  REQUIRE(std::holds_alternative<config_errors>(loaded));
  return to_string(std::get<config_errors>(loaded).at(0));
}

}  // namespace

TEST_CASE("without token files or variables the admin API is off and aggregations are open") {
  const auto loaded = agg::config::load_access_tokens({}, ".", environment({}));
  REQUIRE(std::holds_alternative<access_tokens>(loaded));
  CHECK_FALSE(std::get<access_tokens>(loaded).admin);
  CHECK_FALSE(std::get<access_tokens>(loaded).client);
}

TEST_CASE("tokens come from files relative to the config, or from the environment") {
  const token_directory dir;
  dir.write("admin.token", std::string{admin_token} + "\n");
  const auto loaded = agg::config::load_access_tokens(auth_config{"admin.token", ""}, dir.path.string(),
                                                      environment({{"AGGREGATOR_CLIENT_TOKEN", client_token}}));
  REQUIRE(std::holds_alternative<access_tokens>(loaded));
  CHECK(std::get<access_tokens>(loaded).admin == admin_token);  // the trailing newline dropped
  CHECK(std::get<access_tokens>(loaded).client == client_token);
}

TEST_CASE("a token or secret file others can read or replace is refused, as a TLS key is") {
  const token_directory dir;
  using p = fs::perms;
  dir.write("open.token", std::string{admin_token} + "\n",
            p::owner_read | p::owner_write | p::group_read | p::others_read);
  dir.write("shared.token", std::string{admin_token} + "\n", p::owner_read | p::owner_write | p::group_write);
  dir.write("group.token", std::string{admin_token} + "\n", p::owner_read | p::owner_write | p::group_read);
  const std::string at = dir.path.string();
  CHECK(first_problem(agg::config::load_access_tokens(auth_config{"open.token", ""}, at, environment({}))) ==
        "auth.admin_token_file: the token file " + at +
            "/open.token is readable by every user (mode 0644): chmod 600 "
            "it (or 640 for a group)");
  CHECK(first_problem(agg::config::load_access_tokens(auth_config{"", "shared.token"}, at, environment({}))) ==
        "auth.client_token_file: the token file " + at +
            "/shared.token is writable by others (mode 0620): chmod 600 "
            "it (or 640 for a group)");
  CHECK(std::holds_alternative<access_tokens>(
      agg::config::load_access_tokens(auth_config{"group.token", ""}, at, environment({}))));  // 0640: a group may read
  auth_config hmac;
  hmac.jwt.emplace();
  hmac.jwt->algorithms = {"HS256"};
  hmac.jwt->secret_file = "open.token";
  CHECK(first_problem(agg::config::load_access_tokens(hmac, at, environment({})))
            .starts_with("auth.jwt.secret_file: the secret file " + at + "/open.token is readable by every user"));
}

TEST_CASE("token problems are config errors that name their source") {
  const token_directory dir;
  dir.write("short.token", "abc");
  CHECK(first_problem(
            agg::config::load_access_tokens(auth_config{"short.token", ""}, dir.path.string(), environment({}))) ==
        "auth.admin_token_file: the token must be 16 to 4096 characters of A-Z a-z 0-9 - . _ ~ + / =");
  CHECK(first_problem(
            agg::config::load_access_tokens(auth_config{"missing.token", ""}, dir.path.string(), environment({})))
            .starts_with("auth.admin_token_file: cannot read the token file"));
  CHECK(first_problem(agg::config::load_access_tokens(auth_config{"short.token", ""}, dir.path.string(),
                                                      environment({{"AGGREGATOR_ADMIN_TOKEN", admin_token}}))) ==
        "auth.admin_token_file: AGGREGATOR_ADMIN_TOKEN is set too: give the token one way");
  CHECK(first_problem(agg::config::load_access_tokens(
                          {}, ".", environment({{"AGGREGATOR_ADMIN_TOKEN", "with space 0123456789"}})))
            .starts_with("AGGREGATOR_ADMIN_TOKEN: the token must be"));
  CHECK(
      first_problem(agg::config::load_access_tokens(
          {}, ".", environment({{"AGGREGATOR_ADMIN_TOKEN", admin_token}, {"AGGREGATOR_CLIENT_TOKEN", admin_token}}))) ==
      "auth: the client token must differ from the admin token");
}

TEST_CASE("auth.jwt's keys and the API keys file are read at start, problems name their paths") {
  const token_directory dir;
  const auto load = [&](const auth_config &auth, const std::vector<agg::config::route_ptr> &routes = {}) {
    return agg::config::load_access_tokens(auth, dir.path.string(), environment({}), routes);
  };
  agg::config::jwt_config jwt;
  jwt.jwks_file = "missing.json";
  auth_config auth{"", "", jwt, ""};
  CHECK(first_problem(load(auth)).starts_with("auth.jwt.jwks_file: cannot read"));
  dir.write("bad.json", "{\"keys\": 3}");
  auth.jwt->jwks_file = "bad.json";
  CHECK(first_problem(load(auth)) == "auth.jwt.jwks_file: the JWKS has no \"keys\" array");
  dir.write("empty.json", "{\"keys\": []}");
  auth.jwt->jwks_file = "empty.json";
  CHECK(first_problem(load(auth)) == "auth.jwt.jwks_file: holds no key that can verify a token of auth.jwt.algorithms");
  dir.write("keys.txt", "mobile the-key\n");
  CHECK(first_problem(load(auth_config{"", "", std::nullopt, "keys.txt"}))
            .starts_with("auth.api_keys_file: keys.txt line 1"));
  dir.write("keys.txt", "mobile sha256:" + std::string(64, 'a') + "\n");
  const auto loaded = load(auth_config{"", "", std::nullopt, "keys.txt"});
  REQUIRE(std::holds_alternative<access_tokens>(loaded));
  CHECK(std::get<access_tokens>(loaded).api_keys->size() == 1);
  // HMAC: the secret from the environment, at least 32 bytes.
  agg::config::jwt_config hmac;
  hmac.algorithms = {"HS256"};
  CHECK(first_problem(load(auth_config{"", "", hmac, ""})) ==
        "auth.jwt: HMAC algorithms need secret_file or AGGREGATOR_JWT_SECRET");
  const auto with_secret =
      agg::config::load_access_tokens(auth_config{"", "", hmac, ""}, dir.path.string(),
                                      environment({{"AGGREGATOR_JWT_SECRET", "0123456789abcdef0123456789abcdef"}}));
  REQUIRE(std::holds_alternative<access_tokens>(with_secret));
  CHECK(std::get<access_tokens>(with_secret).jwt != nullptr);
}

TEST_CASE("a route whose access names a credential the service does not take is refused at start") {
  const token_directory dir;
  auto parsed = agg::config::parse_route(boost::json::parse(
      R"({"name":"r","path":"/api/r","access":{"require":"jwt"},"upstreams":[{"url":"http://127.0.0.1:9/x"}]})"));
  const std::vector<agg::config::route_ptr> routes{
      std::make_shared<const agg::config::route_config>(std::get<agg::config::route_config>(std::move(parsed)))};
  CHECK(first_problem(agg::config::load_access_tokens({}, dir.path.string(), environment({}), routes)) ==
        "routes[0].access.require: jwt needs auth.jwt (issuer, audiences, keys)");
}
