#include "aggregator/config/access_tokens.hpp"

#include <cstdlib>
#include <filesystem>

#include "aggregator/config/load_config.hpp"
#include "aggregator/text/character_rules.hpp"

namespace agg::config {

namespace {

constexpr std::size_t min_token_length = 16;
constexpr std::size_t max_token_length = 4096;

/// One token from its file or its variable; `where` is the config path of the file option.
std::optional<std::string> load_token(const std::string &file, const std::string &where, std::string_view variable,
                                      const std::string &config_dir, const environment_lookup &environment,
                                      config_errors &errors) {
  const auto from_environment = environment(variable);
  if (!file.empty() && from_environment) {
    errors.push_back({where, std::string{variable} + " is set too: give the token one way"});
    return std::nullopt;
  }
  std::string token;
  std::string source;
  if (from_environment) {
    token = *from_environment;
    source = std::string{variable};
  } else if (!file.empty()) {
    const std::filesystem::path path = std::filesystem::path{config_dir} / file;
    const auto text = read_config_text(path.string());
    if (!text) {
      errors.push_back({where, "cannot read the token file " + path.string()});
      return std::nullopt;
    }
    token = *text;
    source = where;
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  } else {
    return std::nullopt;
  }
  if (token.size() < min_token_length || token.size() > max_token_length || !text::made_of(token, "-._~+/=")) {
    errors.push_back({source, "the token must be 16 to 4096 characters of A-Z a-z 0-9 - . _ ~ + / ="});
    return std::nullopt;
  }
  return token;
}

}  // namespace

std::optional<std::string> process_environment(std::string_view name) {
  const char *value = std::getenv(std::string{name}.c_str());
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string{value};
}

std::variant<access_tokens, config_errors> load_access_tokens(const auth_config &auth, const std::string &config_dir,
                                                              const environment_lookup &environment) {
  config_errors errors;
  access_tokens tokens;
  tokens.admin = load_token(auth.admin_token_file, "auth.admin_token_file", "AGGREGATOR_ADMIN_TOKEN", config_dir,
                            environment, errors);
  tokens.client = load_token(auth.client_token_file, "auth.client_token_file", "AGGREGATOR_CLIENT_TOKEN", config_dir,
                             environment, errors);
  if (tokens.admin && tokens.client && *tokens.admin == *tokens.client)
    errors.push_back({"auth", "the client token must differ from the admin token"});
  if (!errors.empty()) return errors;
  return tokens;
}

}  // namespace agg::config
