#include "aggregator/config/live_routes.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "aggregator/config/json_text.hpp"
#include "aggregator/config/load_config.hpp"
#include "tests/support/routes.hpp"

using agg::config::live_routes;
using refusal = agg::config::live_routes::refused::reason;
namespace fs = std::filesystem;

namespace {

const std::string first_config = R"({"server":{"listen":"127.0.0.1:0"},"jobs":{"max":7},"routes":[
  {"name":"a","path":"/a","upstreams":[{"url":"http://127.0.0.1:1/a"}]},
  {"name":"b","path":"/b","message":"bee","upstreams":[{"url":"http://127.0.0.1:1/b"}]}]})";

boost::json::value definition(const std::string &name, const std::string &path, const std::string &extra = "") {
  return boost::json::parse(R"({"name":")" + name + R"(","path":")" + path +
                            R"(","upstreams":[{"url":"http://127.0.0.1:1/x"}])" + extra + "}");
}

/// A scratch directory holding one config file, removed afterwards.
struct config_file {
  fs::path directory;
  std::string path;
  explicit config_file(const std::string &text) {
    directory = fs::temp_directory_path() / ("agg_live_routes_" + std::to_string(::getpid()));
    fs::remove_all(directory);
    fs::create_directories(directory);
    path = (directory / "config.json").string();
    write(text);
  }
  ~config_file() { fs::remove_all(directory); }
  void write(const std::string &text) const { std::ofstream{path} << text; }
  [[nodiscard]] std::string read() const { return *agg::config::read_config_text(path); }
  [[nodiscard]] live_routes routes() const {
    auto config = agg::testing::config_from(read());
    return live_routes{config.routes, path, boost::json::parse(read())};
  }
};

std::vector<std::string> names(const live_routes &routes) {
  std::vector<std::string> out;
  for (const auto &r : routes.current()->routes()) out.push_back(r->name);
  return out;
}

live_routes::refused refused(const live_routes::change &change) {
  REQUIRE(std::holds_alternative<live_routes::refused>(change));
  return std::get<live_routes::refused>(change);
}

}  // namespace

TEST_CASE("create, replace, patch and remove publish a new table, and a table taken before is unchanged") {
  auto config = agg::testing::config_from(first_config);
  live_routes routes{config.routes};
  const auto before = routes.current();

  REQUIRE(std::holds_alternative<agg::config::route_ptr>(routes.create(definition("c", "/c"))));
  CHECK(names(routes) == std::vector<std::string>{"a", "b", "c"});
  CHECK(routes.current()->endpoint_at("/c_sync")->kind == agg::config::endpoint_kind::sync_baseline);

  const auto replaced = routes.replace("b", definition("b", "/bb", R"(,"message":"new")"));
  REQUIRE(std::holds_alternative<agg::config::route_ptr>(replaced));
  CHECK(std::get<agg::config::route_ptr>(replaced)->path == "/bb");
  CHECK_FALSE(routes.current()->endpoint_at("/b"));

  const auto patched = routes.patch("b", boost::json::parse(R"({"message":null,"timeout_ms":5})"));
  REQUIRE(std::holds_alternative<agg::config::route_ptr>(patched));
  const auto &b = *std::get<agg::config::route_ptr>(patched);
  CHECK(b.message == "Aggregated upstream responses");  // removed: back to the default
  CHECK(b.timeout.count() == 5);
  CHECK(b.path == "/bb");  // untouched by the patch

  CHECK_FALSE(routes.remove("a"));
  CHECK(names(routes) == std::vector<std::string>{"b", "c"});

  // What a request took at the start is what it keeps.
  CHECK(before->routes().size() == 2);
  CHECK(before->find("a"));
  CHECK(before->find("b")->message == "bee");
}

TEST_CASE("a refused change changes nothing and says why") {
  auto config = agg::testing::config_from(first_config);
  live_routes routes{config.routes};
  const auto before = routes.current();

  const auto invalid = refused(routes.create(boost::json::parse(
      R"({"name":"c","path":"/c","upstreams":[{"url":"http://127.0.0.1:1/x"},{"url":"not a url"}]})")));
  CHECK(invalid.why == refusal::invalid);
  REQUIRE(invalid.errors.size() == 1);
  CHECK(invalid.errors[0].path == "upstreams[1].url");

  CHECK(refused(routes.create(definition("a", "/new"))).why == refusal::conflict);
  CHECK(refused(routes.create(definition("c", "/b"))).why == refusal::conflict);
  CHECK(refused(routes.replace("a", definition("a", "/b"))).why == refusal::conflict);
  CHECK(refused(routes.replace("nope", definition("nope", "/n"))).why == refusal::not_found);
  CHECK(refused(routes.patch("nope", boost::json::parse("{}"))).why == refusal::not_found);
  CHECK(routes.remove("nope")->why == refusal::not_found);
  const auto renamed = refused(routes.replace("a", definition("z", "/a")));
  CHECK(renamed.why == refusal::invalid);
  CHECK(renamed.errors.at(0).path == "name");
  CHECK(refused(routes.patch("a", boost::json::parse(R"({"name":"z"})"))).errors.at(0).path == "name");
  CHECK(refused(routes.patch("a", boost::json::parse(R"({"upstreams":[]})"))).errors.at(0).path == "upstreams");
  CHECK(refused(routes.patch("a", boost::json::parse("[]"))).why == refusal::invalid);
  CHECK(routes.current() == before);

  REQUIRE_FALSE(routes.remove("a"));
  CHECK(routes.remove("b")->why == refusal::conflict);  // the last route stays
  CHECK(names(routes) == std::vector<std::string>{"b"});
}

TEST_CASE("replace takes the name from the URL when the definition has none") {
  auto config = agg::testing::config_from(first_config);
  live_routes routes{config.routes};
  const auto replaced =
      routes.replace("a", boost::json::parse(R"({"path":"/a2","upstreams":[{"url":"http://127.0.0.1:1/x"}]})"));
  REQUIRE(std::holds_alternative<agg::config::route_ptr>(replaced));
  CHECK(std::get<agg::config::route_ptr>(replaced)->name == "a");
}

TEST_CASE("changes are saved to the config file, keeping its other sections, atomically") {
  const config_file file{first_config};
  ::chmod(file.path.c_str(), 0640);
  auto routes = file.routes();
  REQUIRE(std::holds_alternative<agg::config::route_ptr>(routes.create(definition("c", "/c"))));
  REQUIRE_FALSE(routes.remove("a"));

  const auto saved = agg::config::parse_config(file.read());
  REQUIRE(std::holds_alternative<agg::config::service_config>(saved));
  const auto &config = std::get<agg::config::service_config>(saved);
  CHECK(config.jobs.max_jobs == 7);
  REQUIRE(config.routes.size() == 2);
  CHECK(config.routes[0]->message == "bee");
  CHECK(config.routes[1]->name == "c");
  // Written as a person would (one member per line), with the old permissions, and nothing left beside it.
  CHECK(file.read().find("\n  \"routes\": [\n") != std::string::npos);
  struct stat info {};
  REQUIRE(::stat(file.path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0640);
  CHECK(std::distance(fs::directory_iterator{file.directory}, fs::directory_iterator{}) == 1);
}

TEST_CASE("a change that cannot be saved is not applied") {
  auto config = agg::testing::config_from(first_config);
  live_routes routes{config.routes, "/nonexistent-directory/config.json", boost::json::parse(first_config)};
  const auto failed = refused(routes.create(definition("c", "/c")));
  CHECK(failed.why == refusal::not_saved);
  CHECK(failed.errors.at(0).message.find("/nonexistent-directory/config.json") != std::string::npos);
  CHECK(names(routes) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("reload publishes a valid file and refuses a bad one, keeping the routes in force") {
  const config_file file{first_config};
  auto routes = file.routes();

  file.write(R"({"routes":[{"name":"a","path":"/a","upstreams":[{"url":"ftp://x"}]},{"name":"a","path":"/a"}]})");
  const auto bad = routes.reload();
  REQUIRE(std::holds_alternative<agg::config::config_errors>(bad));
  CHECK(std::get<agg::config::config_errors>(bad).size() >= 2);
  CHECK(names(routes) == std::vector<std::string>{"a", "b"});

  file.write("{ not json");
  REQUIRE(std::holds_alternative<agg::config::config_errors>(routes.reload()));
  CHECK(names(routes) == std::vector<std::string>{"a", "b"});

  file.write(R"({"server":{"listen":"127.0.0.1:0"},"jobs":{"max":7},"routes":[
    {"name":"z","path":"/z","upstreams":[{"url":"http://127.0.0.1:1/z"}]}]})");
  const auto good = routes.reload();
  REQUIRE(std::holds_alternative<live_routes::reloaded>(good));
  CHECK(std::get<live_routes::reloaded>(good).routes == 1);
  CHECK(std::get<live_routes::reloaded>(good).sections_changed.empty());
  CHECK(names(routes) == std::vector<std::string>{"z"});

  file.write(R"({"jobs":{"max":8},"routes":[{"name":"z","path":"/z","upstreams":[{"url":"http://127.0.0.1:1/z"}]}]})");
  const auto restart_needed = routes.reload();
  REQUIRE(std::holds_alternative<live_routes::reloaded>(restart_needed));
  CHECK(std::get<live_routes::reloaded>(restart_needed).sections_changed ==
        std::vector<std::string>{"jobs", "server"});  // jobs differs, server is gone
}

TEST_CASE("routes without a file cannot be reloaded") {
  auto config = agg::testing::config_from(first_config);
  live_routes routes{config.routes};
  CHECK(std::holds_alternative<agg::config::config_errors>(routes.reload()));
}

TEST_CASE("concurrent changes are serialised and readers always see a whole table") {
  const config_file file{first_config};
  auto routes = file.routes();
  std::atomic<bool> done{false};
  std::atomic<std::size_t> torn{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r)
    readers.emplace_back([&] {
      while (!done.load()) {
        const auto table = routes.current();
        for (const auto &route : table->routes())
          if (!table->endpoint_at(route->path) || table->find(route->name) != route) ++torn;
      }
    });
  std::atomic<std::size_t> failed{0};  // Catch2's assertions are not thread-safe: count, check after
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([&, w] {
      for (int i = 0; i < 20; ++i) {
        std::string name(1, 'w');  // not "w" + std::string: g++ 12's false -Wrestrict (GCC bug 105329)
        name += std::to_string(w);
        name += '-';
        name += std::to_string(i);
        if (!std::holds_alternative<agg::config::route_ptr>(routes.create(definition(name, "/" + name)))) ++failed;
        if (!std::holds_alternative<agg::config::route_ptr>(
                routes.patch("b", boost::json::parse(R"({"message":")" + name + "\"}"))))
          ++failed;
        if (i % 2 == 0 && routes.remove(name)) ++failed;
      }
    });
  for (auto &t : writers) t.join();
  done = true;
  for (auto &t : readers) t.join();
  CHECK(failed == 0);
  CHECK(torn == 0);
  CHECK(routes.current()->routes().size() == 2 + 4 * 10);
  // The file holds the last state published.
  const auto saved = agg::config::parse_config(file.read());
  REQUIRE(std::holds_alternative<agg::config::service_config>(saved));
  CHECK(std::get<agg::config::service_config>(saved).routes.size() == 2 + 4 * 10);
}

TEST_CASE("a reload racing with changes never publishes an older copy over an acknowledged change") {
  const config_file file{first_config};
  auto routes = file.routes();
  std::atomic<bool> done{false};
  std::thread reloader{[&] {
    while (!done.load()) static_cast<void>(routes.reload());
  }};
  std::size_t stale = 0, refused_changes = 0;
  int acknowledged = -1;
  for (int i = 0; i < 300; ++i) {
    const auto changed = routes.patch("b", boost::json::parse(R"({"message":"change )" + std::to_string(i) + "\"}"));
    if (!std::holds_alternative<agg::config::route_ptr>(changed)) {
      ++refused_changes;
      continue;
    }
    acknowledged = i;
    // A reload may publish the file again, but never a copy from before this change.
    if (routes.current()->find("b")->message != "change " + std::to_string(i)) ++stale;
  }
  done = true;
  reloader.join();
  CHECK(refused_changes == 0);
  CHECK(stale == 0);
  CHECK(routes.current()->find("b")->message == "change " + std::to_string(acknowledged));
  const auto saved = agg::config::parse_config(file.read());
  REQUIRE(std::holds_alternative<agg::config::service_config>(saved));
  CHECK(std::get<agg::config::service_config>(saved).routes.at(1)->message == "change 299");
}

TEST_CASE("a change after the file was edited is refused, naming the file, until the edit is loaded") {
  const config_file file{first_config};
  auto routes = file.routes();
  std::string edited = first_config;
  edited.replace(edited.find("\"bee\""), 5, "\"edited by hand\"");
  file.write(edited);
  const auto conflict = refused(routes.create(definition("c", "/c")));
  CHECK(conflict.why == refusal::conflict);
  CHECK(conflict.errors.at(0).message.find(file.path) != std::string::npos);
  CHECK(file.read() == edited);  // the edit is still there, and nothing was published
  CHECK(names(routes) == std::vector<std::string>{"a", "b"});

  REQUIRE(std::holds_alternative<live_routes::reloaded>(routes.reload()));
  REQUIRE(std::holds_alternative<agg::config::route_ptr>(routes.create(definition("c", "/c"))));
  CHECK(file.read().find("edited by hand") != std::string::npos);  // written back with the edit
  CHECK(names(routes) == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("a saved file is the whole document written anew, though a change writes only its route's text") {
  const config_file file{first_config};
  auto routes = file.routes();
  REQUIRE(std::holds_alternative<agg::config::route_ptr>(routes.create(definition("c", "/c"))));
  REQUIRE(std::holds_alternative<agg::config::route_ptr>(
      routes.patch("a", boost::json::parse(R"({"message":"patched \"a\"\n","timeout_ms":250})"))));
  REQUIRE_FALSE(routes.remove("b"));
  REQUIRE(std::holds_alternative<agg::config::route_ptr>(routes.create(definition("d", "/d"))));
  const std::string saved = file.read();
  CHECK(saved == agg::config::pretty_json(boost::json::parse(saved)));
  CHECK(names(routes) == std::vector<std::string>{"a", "c", "d"});
  CHECK(boost::json::parse(saved).at("jobs").at("max") == 7);

  // All routes removed but one, and one back: the array's first and last places are written right.
  REQUIRE_FALSE(routes.remove("a"));
  REQUIRE_FALSE(routes.remove("c"));
  CHECK(file.read() == agg::config::pretty_json(boost::json::parse(file.read())));
  REQUIRE(std::holds_alternative<agg::config::route_ptr>(routes.replace("d", definition("d", "/dd"))));
  CHECK(file.read() == agg::config::pretty_json(boost::json::parse(file.read())));
  CHECK(agg::testing::config_from(file.read()).routes.at(0)->path == "/dd");
}

TEST_CASE("an edit by hand that keeps the file's size, made just after a save, is still seen") {
  const config_file file{first_config};
  auto routes = file.routes();
  REQUIRE(std::holds_alternative<agg::config::route_ptr>(routes.create(definition("c", "/c"))));
  std::string edited = file.read();
  edited.replace(edited.find("/c\""), 2, "/e");  // same size, same second
  {
    std::fstream out{file.path, std::ios::in | std::ios::out};  // in place: the same inode
    out << edited;
  }
  CHECK(refused(routes.create(definition("d", "/d"))).why == refusal::conflict);
  CHECK(file.read() == edited);
}
