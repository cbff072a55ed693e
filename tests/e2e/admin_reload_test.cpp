// The admin API and reloads as an operator meets them: the built binary, its config file, a token
// file, a restart and SIGHUP.

#include <catch2/catch.hpp>

#include <httplib.h>

#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "aggregator/config/load_config.hpp"
#include "aggregator/process/child_process.hpp"
#include "tests/support/local_upstream.hpp"

using agg::process::child_process;
using agg::testing::local_upstream;
namespace fs = std::filesystem;

namespace {

constexpr const char *admin_token = "admin-token-0123456789abcdef";

/// A directory with the config file and the admin token file next to it.
struct service_files {
  fs::path directory = fs::temp_directory_path() / ("agg_admin_e2e_" + std::to_string(::getpid()));
  std::string config = (directory / "config.json").string();
  service_files() {
    fs::remove_all(directory);
    fs::create_directories(directory);
    std::ofstream{directory / "admin.token"} << admin_token << "\n";
    fs::permissions(directory / "admin.token", fs::perms::owner_read | fs::perms::owner_write);
  }
  ~service_files() { fs::remove_all(directory); }
  void write_config(const std::string &routes) const {
    std::ofstream{config} << R"({"server":{"threads":16},"auth":{"admin_token_file":"admin.token"},"routes":[)"
                          << routes << "]}";
  }
};

std::string route(const std::string &name, const std::string &url) {
  return R"({"name":")" + name + R"(","path":"/api/)" + name + R"(","upstreams":[{"url":")" + url + R"("}]})";
}

child_process start(const service_files &files) {
  return child_process{
      {AGG_AGGREGATOR_BINARY, "--config", files.config, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}};
}

/// The aggregator binary serving `files`: a client for its data plane, and one for its control
/// plane that sends the admin token.
struct running_binary {
  child_process program;
  int data_port;
  int control_port;
  httplib::Client http;
  httplib::Client admin;
  explicit running_binary(const service_files &files)
      : program{start(files)},
        data_port{program.listening_port()},
        control_port{program.listening_port()},
        http{"127.0.0.1", data_port},
        admin{"127.0.0.1", control_port} {
    admin.set_bearer_token_auth(admin_token);
  }
};

int status_of(httplib::Client &http, const std::string &path) {
  const auto reply = http.Get(path);
  return reply ? reply->status : -1;
}

}  // namespace

TEST_CASE("a route created over the admin API survives a restart") {
  local_upstream upstream;
  const service_files files;
  files.write_config(route("demo", upstream.api("task_id=demo")));
  {
    running_binary service{files};
    const auto created =
        service.admin.Post("/admin/routes", route("extra", upstream.api("task_id=extra")), "application/json");
    REQUIRE(created);
    CHECK(created->status == 201);
    service.program.signal(SIGTERM);
    CHECK(service.program.wait() == 0);
  }
  // The file is a valid config holding both routes, and keeps its other sections.
  const auto saved = agg::config::load_config_file(files.config);
  REQUIRE(std::holds_alternative<agg::config::service_config>(saved));
  const auto &config = std::get<agg::config::service_config>(saved);
  CHECK(config.routes.size() == 2);
  CHECK(config.auth.admin_token_file == "admin.token");
  CHECK(config.server.threads == 16);

  running_binary restarted{files};
  CHECK(status_of(restarted.admin, "/admin/routes/extra") == 200);
  const auto answer = restarted.http.Get("/api/extra");
  REQUIRE(answer);
  CHECK(answer->status == 200);
  CHECK(answer->body.find("\"task_id\":\"extra\"") != std::string::npos);
}

TEST_CASE("SIGHUP reloads the routes, and a bad file is refused with its errors logged while the old routes serve on") {
  local_upstream upstream;
  const service_files files;
  files.write_config(route("demo", upstream.api("task_id=demo")));
  running_binary service{files};

  files.write_config(R"({"name":"demo","path":"/api/demo","upstreams":[{"url":"ftp://nowhere"}]})");
  service.program.signal(SIGHUP);
  const std::string refusal = service.program.read_until("reload refused");
  CHECK(refusal.find("routes[0].upstreams[0].url: not an http(s) URL") != std::string::npos);
  CHECK(status_of(service.http, "/api/demo") == 200);

  files.write_config(route("fresh", upstream.api("task_id=fresh")));
  service.program.signal(SIGHUP);
  service.program.read_until("reloaded 1 route(s)");
  CHECK(status_of(service.http, "/api/fresh") == 200);
  CHECK(status_of(service.http, "/api/demo") == 404);

  service.program.signal(SIGTERM);
  CHECK(service.program.wait() == 0);
}

TEST_CASE("aggregator refuses to start when its token file cannot be read, with exit code 2") {
  const service_files files;
  fs::remove(files.directory / "admin.token");
  files.write_config(route("demo", "http://127.0.0.1:1/"));
  auto service = start(files);
  CHECK(service.rest().find("auth.admin_token_file: cannot read the token file") != std::string::npos);
  CHECK(service.wait() == 2);
}
