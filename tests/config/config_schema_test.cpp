// `aggregator config schema` and `aggregator config print`: what the readers note while they read.
// (tests/config/config_schema_check.py validates configs against the schema with python3-jsonschema.)

#include "aggregator/config/config_schema.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <fstream>
#include <sstream>

#include "aggregator/config/json_text.hpp"
#include "aggregator/config/load_config.hpp"

namespace json = boost::json;

namespace {

/// Every place under `schema` (at `path`) where a member's schema says nothing: a key the exemplar
/// never names, so the readers never noted what it holds.
void collect_undescribed(const json::object &schema, const std::string &path, std::vector<std::string> &out) {
  if (schema.empty()) out.push_back(path);
  if (const json::value *properties = schema.if_contains("properties"))
    for (const auto &kv : properties->as_object())
      collect_undescribed(kv.value().as_object(), path + "." + std::string{kv.key()}, out);
  for (const char *key : {"items", "additionalProperties"})
    if (const json::value *v = schema.if_contains(key); v != nullptr && v->is_object())
      collect_undescribed(v->as_object(), path + "/" + key, out);
  if (const json::value *any = schema.if_contains("anyOf"))
    for (const auto &s : any->as_array()) collect_undescribed(s.as_object(), path + "|", out);
}

/// The schema of the member at `keys` (through properties, and `items` at "[]").
const json::object &schema_at(const json::object &schema, std::initializer_list<std::string_view> keys) {
  const json::object *at = &schema;
  for (const std::string_view key : keys) {
    if (const json::value *any = at->if_contains("anyOf"))  // the object form of a value that may be `false`
      for (const auto &s : any->as_array())
        if (s.as_object().contains("properties") || s.as_object().contains("items")) at = &s.as_object();
    at = key == "[]" ? &at->at("items").as_object() : &at->at("properties").at(key).as_object();
  }
  return *at;
}

json::value effective(
    std::string_view text, const agg::config::environment_lookup &environment = [](std::string_view) {
      return std::optional<std::string>{};
    }) {
  auto result = agg::config::effective_config(text, environment);
  if (const auto *errors = std::get_if<agg::config::config_errors>(&result)) FAIL(to_string(errors->front()));
  return std::get<json::value>(std::move(result));
}

constexpr std::string_view small_config = R"({
  "server": {"listen": "127.0.0.1:${PORT:-8080}", "cors": {"allow_origins": ["https://app.example.com"]}},
  "routes": [{"name": "a", "path": "/api/a", "upstreams": [
    {"url": "http://127.0.0.1:9000/x", "headers": {"Authorization": "Bearer s3cret", "X-Api-Key": "k3y",
                                                    "Accept": "application/json"}},
    {"url": "http://127.0.0.1:9000/y", "retry": {"attempts": 3}}]}]
})";

}  // namespace

TEST_CASE("the config schema describes every key the loader reads", "[config][schema]") {
  const json::object schema = agg::config::config_schema().as_object();
  CHECK(schema.at("$schema") == "https://json-schema.org/draft/2020-12/schema");
  std::vector<std::string> undescribed;
  collect_undescribed(schema, "(root)", undescribed);
  INFO("add these keys to aggregator/config/config_exemplar.cpp: " << json::value_from(undescribed));
  CHECK(undescribed.empty());
  CHECK(schema.at("additionalProperties") == false);
  CHECK(schema.at("required") == json::array{"routes"});
  const auto &route = schema_at(schema, {"routes", "[]"});
  CHECK(route.at("additionalProperties") == false);
  CHECK(route.at("required") == json::array{"name", "path", "upstreams"});
  CHECK(schema_at(schema, {"server", "threads"}) ==
        json::object{{"type", "integer"}, {"minimum", 1}, {"maximum", 20000}, {"default", 8}});
  CHECK(schema_at(schema, {"log", "level"}).at("enum") == json::array{"debug", "info", "warn", "error", "off"});
  CHECK(schema_at(schema, {"log", "level"}).at("default") == "info");
  CHECK(schema_at(schema, {"routes", "[]", "message"}).at("default") == "Aggregated upstream responses");
  // `false` or an object: both forms, as the loader takes them.
  const auto &retry = schema_at(schema, {"routes", "[]"}).at("properties").at("retry").as_object();
  REQUIRE(retry.contains("anyOf"));
  CHECK(retry.at("anyOf").as_array().size() == 2);
  CHECK(schema_at(schema, {"routes", "[]", "retry", "attempts"}).at("maximum") == 10);
  CHECK(schema_at(schema, {"client", "origins"}).at("additionalProperties").as_object().contains("properties"));
  CHECK(schema_at(schema, {"routes", "[]", "upstreams", "[]", "headers"}).at("additionalProperties") ==
        json::object{{"type", "string"}});
}

TEST_CASE("the shipped schema file is what `aggregator config schema` prints", "[config][schema]") {
  std::ifstream in{std::string{AGG_SOURCE_DIR} + "/configs/config.schema.json"};
  std::stringstream text;
  text << in.rdbuf();
  INFO("regenerate it: build/aggregator/aggregator config schema > configs/config.schema.json");
  CHECK(text.str() == agg::config::pretty_json(agg::config::config_schema()));
}

TEST_CASE("config print fills in every default and loads as the config it prints", "[config][print]") {
  const json::value printed = effective(small_config);
  const json::object &server = printed.at("server").as_object();
  CHECK(server.at("listen") == "127.0.0.1:8080");  // ${PORT:-8080} expanded
  CHECK(server.at("threads") == 8);
  CHECK(server.at("request_timeout_ms").is_number());
  CHECK(server.at("compression").at("gzip_level") == 6);
  CHECK(server.at("cors").at("max_age_s").is_number());
  CHECK(printed.at("log").at("level") == "info");
  CHECK(printed.at("log").at("format") == "text");
  CHECK(printed.at("jobs").at("max").is_number());
  CHECK(printed.at("client").at("loops").is_number());
  const json::object &route = printed.at("routes").at(0).as_object();
  CHECK(route.at("message") == "Aggregated upstream responses");
  CHECK(route.at("timeout_ms").is_number());
  CHECK(route.at("max_calls").is_number());
  CHECK(route.at("coalesce") == false);
  // An entry's own retry gets the rest of its defaults; one without a retry gets none invented.
  CHECK(route.at("upstreams").at(1).at("retry").at("backoff_ms").is_number());
  CHECK(route.at("upstreams").at(1).at("retry").at("attempts") == 3);
  CHECK_FALSE(route.at("upstreams").at(0).as_object().contains("retry"));
  CHECK_FALSE(route.contains("cors"));  // absent means off: not filled in

  // What it prints is a config the service loads, and printing that again changes nothing.
  const std::string text = agg::config::pretty_json(printed);
  REQUIRE(agg::config::parse_config(text).index() == 0);
  CHECK(effective(text) == printed);
}

TEST_CASE("config print hides credentials and shows the rest", "[config][print]") {
  const json::value printed = effective(small_config);
  const json::object &headers = printed.at("routes").at(0).at("upstreams").at(0).at("headers").as_object();
  CHECK(headers.at("Authorization") == "<redacted>");
  CHECK(headers.at("X-Api-Key") == "<redacted>");
  CHECK(headers.at("Accept") == "application/json");
  CHECK(agg::config::pretty_json(printed).find("s3cret") == std::string::npos);
}

TEST_CASE("config print takes variables from the environment and refuses what the loader refuses", "[config][print]") {
  const auto port = [](std::string_view name) {
    return name == "PORT" ? std::optional<std::string>{"9999"} : std::nullopt;
  };
  CHECK(effective(small_config, port).at("server").at("listen") == "127.0.0.1:9999");
  // A `$` that is a value (here `$$` as written, or one a variable brings) prints as `$$`: read
  // again, it is the same value (the config fuzz target found the first version printing `$`).
  const auto dollars = [](std::string_view name) {
    return name == "PRICE" ? std::optional<std::string>{"$5"} : std::nullopt;
  };
  const json::value priced = effective(
      R"({"routes":[{"name":"a","path":"/a","message":"$${PRICE} is ${PRICE}","upstreams":[{"url":"http://h/"}]}]})",
      dollars);
  CHECK(priced.at("routes").at(0).at("message") == "$${PRICE} is $$5");
  CHECK(effective(agg::config::pretty_json(priced), dollars) == priced);
  auto refused = agg::config::effective_config(R"({"server": {"threads": 0}, "routes": []})");
  REQUIRE(refused.index() == 1);
  const auto &errors = std::get<agg::config::config_errors>(refused);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].path == "server.threads");
  CHECK(errors[1].path == "routes");
  auto unset = agg::config::effective_config(R"({"server": {"listen": "${NOT_SET_ANYWHERE_X}"}, "routes": []})",
                                             [](std::string_view) { return std::optional<std::string>{}; });
  REQUIRE(unset.index() == 1);
  CHECK(std::get<agg::config::config_errors>(unset).front().path == "server.listen");
}

TEST_CASE("telemetry: its endpoint is a collector's base URL, its headers are secrets", "[config][print]") {
  const auto problems = [](const std::string &telemetry) {
    auto parsed = agg::config::parse_config(
        R"({"telemetry":)" + telemetry + R"(,"routes":[{"name":"a","path":"/a","upstreams":[{"url":"http://h/"}]}]})");
    std::vector<std::string> out;
    if (const auto *errors = std::get_if<agg::config::config_errors>(&parsed))
      for (const auto &e : *errors) out.push_back(to_string(e));
    return out;
  };
  CHECK(problems(R"({"otlp_endpoint":"http://127.0.0.1:4318"})").empty());
  CHECK(problems(R"({})") == std::vector<std::string>{"telemetry.otlp_endpoint: is required"});
  CHECK(problems(R"({"otlp_endpoint":"127.0.0.1:4318"})").size() == 1);
  CHECK(problems(R"({"otlp_endpoint":"http://c/?x=1"})").size() == 1);
  CHECK(problems(R"({"otlp_endpoint":"http://c","sample_ratio":1.5})") ==
        std::vector<std::string>{"telemetry.sample_ratio: must be a number from 0 to 1"});
  CHECK(problems(R"({"otlp_endpoint":"http://c","headers":{"X-Key":"a
b"}})")
            .size() == 1);
  agg::config::telemetry_config defaults;
  defaults.otlp_endpoint = "http://c:4318/";
  CHECK(defaults.traces_url() == "http://c:4318/v1/traces");

  const json::value printed = effective(
      R"({"telemetry":{"otlp_endpoint":"http://c:4318","headers":{"X-Key":"s3cret"}},
          "routes":[{"name":"a","path":"/a","upstreams":[{"url":"http://h/"}]}]})");
  CHECK(printed.at("telemetry").at("headers").at("X-Key") == "<redacted>");
  CHECK(printed.at("telemetry").at("sample_ratio") == 1.0);
  CHECK(printed.at("telemetry").at("service_name") == "aggregator");
}

TEST_CASE("config print shows the embedded default config whole", "[config][print]") {
  const json::value printed = effective(agg::config::default_config_json());
  CHECK(printed.at("server").at("max_connections").is_number());
  CHECK(agg::config::parse_config(agg::config::pretty_json(printed)).index() == 0);
}
