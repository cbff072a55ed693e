#include "aggregator/config/environment_values.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "aggregator/config/live_routes.hpp"
#include "aggregator/config/load_config.hpp"
#include "tests/support/scratch_dir.hpp"

using agg::config::config_errors;
using agg::config::environment_lookup;
using agg::config::expand_variables;

namespace {

/// An environment holding exactly `variables`.
environment_lookup variables_of(std::map<std::string, std::string, std::less<>> variables) {
  return [variables = std::move(variables)](std::string_view name) -> std::optional<std::string> {
    const auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
}

const environment_lookup test_env = variables_of({{"HOST", "api.internal"}, {"PORT", "8443"}, {"TOKEN", "s3cret"}});

std::string expanded_text(std::string_view text) {
  auto result = expand_variables(text, test_env);
  REQUIRE(result.index() == 0);
  return std::get<0>(result);
}

std::string expansion_refusal(std::string_view text) {
  auto result = expand_variables(text, test_env);
  REQUIRE(result.index() == 1);
  return std::get<agg::config::expansion_problem>(result).message;
}

/// "path: message" of each problem with `config`, read in `test_env`.
std::vector<std::string> config_problems(const std::string &config) {
  const auto parsed = agg::config::parse_config_document(config, test_env);
  std::vector<std::string> lines;
  if (const auto *errors = std::get_if<config_errors>(&parsed))
    for (const auto &e : *errors) lines.push_back(to_string(e));
  return lines;
}

}  // namespace

TEST_CASE("${NAME}, ${NAME:-default} and $$ in a string") {
  CHECK(expanded_text("https://${HOST}:${PORT}/v1") == "https://api.internal:8443/v1");
  CHECK(expanded_text("Bearer ${TOKEN}") == "Bearer s3cret");
  CHECK(expanded_text("${REGION:-eu-west-1}") == "eu-west-1");  // not set: the default
  CHECK(expanded_text("${HOST:-other}") == "api.internal");     // set: its value
  CHECK(expanded_text("${REGION:-}") == "");
  CHECK(expanded_text("$${HOST} costs $5, $$ and $") == "${HOST} costs $5, $ and $");
  CHECK(expanded_text("no dollar at all") == "no dollar at all");
  CHECK(expanded_text("${PORT}${PORT}") == "84438443");
}

TEST_CASE("a variable not set without a default, a bad name, an unclosed ${ are refused, saying so") {
  CHECK(expansion_refusal("https://${UPSTREAM_HOST}/") ==
        "the environment variable UPSTREAM_HOST is not set (write ${UPSTREAM_HOST:-default} to give a default)");
  CHECK(expansion_refusal("${1ST}").starts_with("${1ST}: a variable's name is letters, digits and _"));
  CHECK(expansion_refusal("${HOST-x}").starts_with("${HOST-x}: a variable's name"));
  CHECK(expansion_refusal("${}").starts_with("${}: a variable's name"));
  CHECK(expansion_refusal("${HOST").starts_with("has a ${ that is never closed"));
}

TEST_CASE("every string of a config is expanded, and a problem names its JSON path") {
  const auto parsed = agg::config::parse_config_document(R"({
    "server": {"listen": "127.0.0.1:${PORT}"},
    "log": {"level": "${LOG_LEVEL:-warn}"},
    "routes": [{"name": "r", "path": "/r", "upstreams": [
      {"url": "https://${HOST}/a", "headers": {"Authorization": "Bearer ${TOKEN}"}}]}]})",
                                                         test_env);
  REQUIRE(parsed.index() == 0);
  const auto &document = std::get<agg::config::config_document>(parsed);
  CHECK(document.config.server.port == 8443);
  CHECK(document.config.log.threshold == agg::config::log_config::level::warn);
  const auto &entry = document.config.routes.at(0)->upstreams.at(0);
  CHECK(entry.url.text() == "https://api.internal/a");
  // What was written stays in the document and the route's definition: saved, shown and patched as written.
  CHECK(document.json.at("server").at("listen") == "127.0.0.1:${PORT}");
  CHECK(document.config.routes.at(0)->definition.at("upstreams").at(0).at("url") == "https://${HOST}/a");
  CHECK(agg::config::environment_names(document.json) ==
        std::vector<std::string>{"HOST", "LOG_LEVEL", "PORT", "TOKEN"});

  CHECK(config_problems(R"({"server": {"listen": "${BIND}"}, "routes": [{"name": "r", "path": "/r",
    "upstreams": [{"url": "http://127.0.0.1:1/", "headers": {"X-Key": "${KEY}"}}]}]})") ==
        std::vector<std::string>{
            "server.listen: the environment variable BIND is not set (write ${BIND:-default} to give a default)",
            "routes[0].upstreams[0].headers.X-Key: the environment variable KEY is not set (write ${KEY:-default} "
            "to give a default)"});
  // The expanded value is what is checked.
  CHECK(config_problems(R"({"server": {"listen": "${HOST}"}, "routes": [{"name": "r", "path": "/r",
    "upstreams": [{"url": "http://127.0.0.1:1/"}]}]})")
            .at(0)
            .starts_with("server.listen: must be HOST:PORT"));
  // "$schema" names the config's JSON Schema, for editors; the loader takes it.
  CHECK(config_problems(R"({"$schema": "./config.schema.json", "routes": [{"name": "r", "path": "/r",
    "upstreams": [{"url": "http://127.0.0.1:1/"}]}]})")
            .empty());
}

TEST_CASE("a route saved by the admin API keeps every ${NAME} as written, and its value never reaches the file") {
  REQUIRE(::setenv("AGG_TEST_SECRET_HEADER", "value-that-must-stay-out-of-the-file", 1) == 0);
  const agg::testing::scratch_dir dir;
  const std::string text = R"({"server": {"listen": "127.0.0.1:${AGG_TEST_PORT:-0}"}, "routes": [
    {"name": "a", "path": "/a", "upstreams": [{"url": "http://127.0.0.1:1/a",
     "headers": {"X-Secret": "${AGG_TEST_SECRET_HEADER}"}}]}]})";
  const std::string file = dir.file("config.json", text);
  auto loaded = agg::config::load_config_document(file);
  REQUIRE(loaded.index() == 0);
  auto &[config, document] = std::get<agg::config::config_document>(loaded);
  agg::config::live_routes routes{config.routes, file, std::move(document)};
  const auto created = routes.create(boost::json::parse(
      R"({"name": "b", "path": "/b", "upstreams": [{"url": "http://127.0.0.1:1/b?k=${AGG_TEST_SECRET_HEADER}"}]})"));
  REQUIRE(created.index() == 0);
  CHECK(std::get<agg::config::route_ptr>(created)->upstreams.at(0).url.text() ==
        "http://127.0.0.1:1/b?k=value-that-must-stay-out-of-the-file");
  const std::string saved = *agg::config::read_config_text(file);
  CHECK(saved.find("value-that-must-stay-out-of-the-file") == std::string::npos);
  CHECK(saved.find("\"X-Secret\": \"${AGG_TEST_SECRET_HEADER}\"") != std::string::npos);
  CHECK(saved.find("k=${AGG_TEST_SECRET_HEADER}") != std::string::npos);
  CHECK(saved.find("127.0.0.1:${AGG_TEST_PORT:-0}") != std::string::npos);
  // And on a reload the file's names are read again.
  REQUIRE(routes.reload().index() == 0);
  const auto reloaded = routes.current()->find("a");
  REQUIRE(reloaded);
  CHECK(reloaded->upstreams.at(0).headers.at(0).second.text() == "value-that-must-stay-out-of-the-file");
}
