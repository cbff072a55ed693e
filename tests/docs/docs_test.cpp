// The README and docs/ as a reader follows them: every relative link leads to a file (and heading)
// that exists, the printed default config is the file itself, and every config example and every
// dotted config key they show is one the loader takes.

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "aggregator/config/load_config.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

const fs::path source_dir{AGG_SOURCE_DIR};

std::string file_text(const fs::path &path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, {}};
}

/// README.md and every page under docs/.
std::vector<fs::path> pages() {
  std::vector<fs::path> found{source_dir / "README.md"};
  for (const auto &entry : fs::directory_iterator{source_dir / "docs"})
    if (entry.path().extension() == ".md") found.push_back(entry.path());
  std::sort(found.begin() + 1, found.end());
  return found;
}

/// A page's lines outside ``` fences (prose, headings), and the fenced blocks marked `json`.
struct page_parts {
  std::vector<std::string> prose;
  std::vector<std::string> json_blocks;
};

page_parts parts_of(const std::string &text) {
  page_parts parts;
  std::istringstream lines{text};
  bool fenced = false;
  bool is_json = false;
  std::string block;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("```")) {
      if (fenced && is_json) parts.json_blocks.push_back(block);
      fenced = !fenced;
      is_json = fenced && line == "```json";
      block.clear();
    } else if (fenced) {
      block += line + "\n";
    } else {
      parts.prose.push_back(line);
    }
  }
  return parts;
}

/// The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as '-'.
std::string anchor_of(std::string_view heading) {
  std::string anchor;
  for (const char c : heading) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '-' || c == '_' || byte >= 0x80)
      anchor += static_cast<char>(std::tolower(byte));
    else if (c == ' ')
      anchor += '-';
  }
  return anchor;
}

std::set<std::string> anchors_in(const fs::path &page) {
  std::set<std::string> anchors;
  for (const auto &line : parts_of(file_text(page)).prose) {
    const auto hashes = line.find_first_not_of('#');
    if (hashes != 0 && hashes != std::string::npos && line[hashes] == ' ')
      anchors.insert(anchor_of(line.substr(hashes + 1)));
  }
  return anchors;
}

constexpr std::string_view minimal_route =
    R"({"name":"doc","path":"/doc","upstreams":[{"url":"http://127.0.0.1:9/x"}]})";
const std::set<std::string> sections{"server", "client", "log", "jobs", "auth", "telemetry"};

/// A whole config made of an example: a config, a route, a top-level section or route members.
std::string config_of(const std::string &example) {
  boost::system::error_code not_whole;
  json::value v = json::parse(example, not_whole);
  if (not_whole) v = json::parse("{" + example + "}");  // a member or two, as a page quotes them
  json::object o = v.as_object();
  if (o.contains("routes")) return json::serialize(o);
  json::object config;
  if (!o.contains("path") &&
      std::all_of(o.begin(), o.end(), [](const auto &kv) { return sections.contains(std::string{kv.key()}); })) {
    config = std::move(o);
    config["routes"] = json::array{json::parse(minimal_route)};
    return json::serialize(config);
  }
  json::object route = json::parse(minimal_route).as_object();
  for (const auto &kv : o) route[kv.key()] = kv.value();
  config["routes"] = json::array{std::move(route)};
  return json::serialize(config);
}

/// The environment variables the examples name, set as a reader running them would.
std::optional<std::string> example_environment(std::string_view name) {
  static const std::map<std::string, std::string, std::less<>> set{{"ORDERS_HOST", "orders.internal"},
                                                                   {"ORDERS_TOKEN", "t0ken"}};
  const auto found = set.find(name);
  return found == set.end() ? std::nullopt : std::optional<std::string>{found->second};
}

std::vector<std::string> problems_of(const std::string &config) {
  std::vector<std::string> problems;
  auto parsed = agg::config::parse_config_document(config, example_environment);
  if (const auto *errors = std::get_if<agg::config::config_errors>(&parsed))
    for (const auto &e : *errors) problems.push_back(agg::config::to_string(e));
  return problems;
}

}  // namespace

TEST_CASE("every relative link in the README and docs/ leads to a file, and to a heading it names") {
  const std::regex link{R"(\]\(([^)\s]+)\))"};
  std::size_t checked = 0;
  for (const auto &page : pages()) {
    for (const auto &line : parts_of(file_text(page)).prose) {
      for (auto it = std::sregex_iterator{line.begin(), line.end(), link}; it != std::sregex_iterator{}; ++it) {
        const std::string target = (*it)[1];
        if (target.find("://") != std::string::npos || target.starts_with("mailto:")) continue;
        INFO(page.filename().string() << " links to " << target);
        const auto hash = target.find('#');
        const std::string file_part = target.substr(0, hash);
        const fs::path file = file_part.empty() ? page : page.parent_path() / file_part;
        CHECK(fs::exists(file));
        if (hash != std::string::npos && fs::exists(file)) CHECK(anchors_in(file).contains(target.substr(hash + 1)));
        ++checked;
      }
    }
  }
  CHECK(checked >= 20);  // the pages do link; a broken pattern would find none
}

TEST_CASE("the configuration page prints configs/default.json as it is") {
  const auto blocks = parts_of(file_text(source_dir / "docs/configuration.md")).json_blocks;
  REQUIRE_FALSE(blocks.empty());
  CHECK(blocks.front() == file_text(source_dir / "configs/default.json"));
}

TEST_CASE("every config example in the README and docs/ loads") {
  std::size_t examples = 0;
  for (const auto &page : pages()) {
    for (const auto &block : parts_of(file_text(page)).json_blocks) {
      INFO(page.filename().string() << ":\n" << block);
      const std::string config = config_of(block);
      INFO(config);
      CHECK(problems_of(config) == std::vector<std::string>{});
      ++examples;
    }
  }
  CHECK(examples >= 5);
}

TEST_CASE("every dotted config key the README and docs/ name (`server.max_connections`) is one the loader knows") {
  const std::regex dotted{R"(`((server|client|log|jobs|auth|telemetry)(\.[a-z_]+)+)`)"};
  std::set<std::string> keys;
  for (const auto &page : pages()) {
    const std::string text = file_text(page);
    for (auto it = std::sregex_iterator{text.begin(), text.end(), dotted}; it != std::sregex_iterator{}; ++it)
      keys.insert((*it)[1]);
  }
  // OpenTelemetry's attributes that share a section's prefix (docs/telemetry.md): no config keys.
  for (const char *attribute : {"server.address", "server.port"}) keys.erase(attribute);
  REQUIRE(keys.size() >= 10);
  keys.insert("server.no_such_key");  // the check itself: a key the loader does not know is said so
  for (const auto &key : keys) {
    // {"server": {"max_connections": null}}: a key the loader knows is a type error, never "unknown key".
    json::value value = nullptr;
    std::string rest = key;
    std::vector<std::string> path;
    for (std::size_t dot; (dot = rest.find('.')) != std::string::npos; rest.erase(0, dot + 1))
      path.push_back(rest.substr(0, dot));
    path.push_back(rest);
    for (auto name = path.rbegin(); name != path.rend(); ++name) value = json::object{{*name, std::move(value)}};
    json::object config = value.as_object();
    config["routes"] = json::array{json::parse(minimal_route)};
    INFO(key);
    const auto problems = problems_of(json::serialize(config));
    const bool unknown = std::find(problems.begin(), problems.end(), key + ": unknown key") != problems.end();
    CHECK(unknown == (key == "server.no_such_key"));
  }
}
