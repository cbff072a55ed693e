// aggregator: answers one HTTP request by calling N upstream APIs at once and merging their JSON.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <variant>

#include "aggregator/app/service.hpp"
#include "aggregator/app/startup.hpp"
#include "aggregator/config/config_schema.hpp"
#include "aggregator/config/json_text.hpp"
#include "aggregator/process/process_setup.hpp"

namespace {

constexpr int exit_config_error = 2;
using level = agg::config::log_config::level;

/// Prints every config problem, prefixed by where the config came from; returns the exit code.
int report_config_errors(const std::string &source, const agg::config::config_errors &errors) {
  for (const auto &error : errors) std::fprintf(stderr, "%s: %s\n", source.c_str(), to_string(error).c_str());
  return exit_config_error;
}

/// `aggregator --check [FILE]`: the config as start-up would take it, the command line's flags
/// applied; every problem with its JSON path (exit 2), or ok with the warnings and the environment
/// variables it reads (exit 0).
int check(const std::string &file, const agg::app::overrides &given) {
  const std::string source = file.empty() ? "embedded default config" : file;
  auto checked = agg::app::load(file);
  if (const auto *errors = std::get_if<agg::config::config_errors>(&checked))
    return report_config_errors(source, *errors);
  auto &valid = std::get<agg::app::loaded_config>(checked);
  if (const auto result = agg::app::apply(given, valid.file.config); std::holds_alternative<std::string>(result)) {
    std::fprintf(stderr, "%s: %s\n", source.c_str(), std::get<std::string>(result).c_str());
    return exit_config_error;
  }
  for (const auto &warning : agg::app::start_warnings(valid.file.config, valid.tokens, !file.empty()))
    std::printf("%s: warning: %s\n", source.c_str(), to_string(warning).c_str());
  for (const auto &name : agg::config::environment_names(valid.file.json))
    std::printf("%s: reads ${%s}: %s\n", source.c_str(), name.c_str(),
                agg::config::process_environment(name) ? "set" : "not set, its default taken");
  std::printf("%s: ok (%zu routes; admin API %s)\n", source.c_str(), valid.file.config.routes.size(),
              valid.tokens.admin ? "on" : "off");
  return 0;
}

/// `aggregator config print [--config FILE]`: the effective config (variables expanded, defaults
/// filled in, credentials redacted) as JSON, or every problem with its JSON path (exit 2).
int print_effective_config(const std::string &file) {
  const std::string source = file.empty() ? "embedded default config" : file;
  const auto text = file.empty() ? std::optional<std::string>{agg::config::default_config_json()}
                                 : agg::config::read_config_text(file);
  if (!text) return report_config_errors(source, {{"", "cannot read config file " + file}});
  const auto effective = agg::config::effective_config(*text);
  if (const auto *errors = std::get_if<agg::config::config_errors>(&effective))
    return report_config_errors(source, *errors);
  std::fputs(agg::config::pretty_json(std::get<boost::json::value>(effective)).c_str(), stdout);
  return 0;
}

/// Builds the service, serves until SIGTERM or SIGINT (SIGHUP reloads the routes), stops it.
int serve(agg::app::loaded_config loaded, const std::string &config_file, const agg::runtime::service_log &log) {
  agg::app::fit_descriptor_budget(loaded.file.config, log);
  agg::app::service service{std::move(loaded.file.config), loaded.tokens, log, config_file,
                            std::move(loaded.file.json)};
  const auto &config = service.config();
  agg::app::warn_at_start(config, loaded.tokens, !config_file.empty(), log);
  agg::app::remove_interrupted_saves(config_file, log);
  agg::app::service::ports ports;
  try {
    ports = service.bind();
  } catch (const std::runtime_error &e) {  // taken by another process, or not ours: a setup error
    log.event(level::error, e.what());
    return exit_config_error;
  }
  service.start();  // before the signal thread exists: a stop it takes finds the data plane whole
  const auto grace = config.server.shutdown_grace;
  const agg::process::signal_waiter on_signal{[&service, &log, grace] {
                                                log.event(level::info,
                                                          "stopping: no new connections; finishing requests in flight");
                                                service.shut_down(grace);
                                                service.stop_control();
                                              },
                                              [&service] { service.reload_routes(); }};
  agg::app::print_banner(config,
                         {.source = config_file.empty() ? "embedded default config" : config_file,
                          .port = ports.data,
                          .admin_port = ports.control,
                          .admin_api = loaded.tokens.admin.has_value(),
                          .loops = service.loops().loop_count()},
                         log);
  const bool served = service.run_control();
  log.event(level::info, served ? "stopped" : "the control plane's listener failed");
  return served ? 0 : 1;
}

}  // namespace

int main(int argc, char **argv) {
  agg::process::block_service_signals();
  CLI::App app{
      "aggregator: calls N upstream HTTP APIs at once and answers with one JSON document.\n"
      "Without --config it runs on the embedded default (configs/default.json)."};
  std::string config_file;
  std::string check_file;
  agg::app::overrides given;
  app.add_option("-c,--config", config_file, "config file (JSON); default: the embedded demo config")
      ->check(CLI::ExistingFile);
  app.add_option("--check", check_file,
                 "validate a config file (or the --config file, or the embedded default) as start-up would, "
                 "with the other flags applied; print every problem with its JSON path, the warnings and the "
                 "environment variables it reads, and exit (0: valid, 2: invalid)")
      ->expected(0, 1);
  app.set_version_flag("--version", agg::app::version_text());
  app.add_option("-l,--listen", given.listen,
                 "HOST:PORT of the data plane, overriding server.listen (port 0: any free port)");
  app.add_option("--admin-listen", given.admin_listen,
                 "HOST:PORT of the control plane (admin API, /metrics), overriding server.admin_listen");
  app.add_option("--threads", given.threads, "control-plane worker threads, overriding server.threads")
      ->check(CLI::Range(1, 1'000));
  app.add_option("--log-level", given.log_level, "debug, info (one access line per request), warn, error or off")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}));
  app.add_option("--log-format", given.log_format, "text or json (one object per line)")
      ->check(CLI::IsMember({"text", "json"}));
  CLI::App *config_command = app.add_subcommand("config", "config tooling: its JSON Schema, the effective config");
  config_command->require_subcommand(1);
  const CLI::App *schema_command = config_command->add_subcommand(
      "schema", "print the JSON Schema (2020-12) of the config file, for editors and linters");
  CLI::App *print_command = config_command->add_subcommand(
      "print",
      "print the effective config: environment values expanded, every default filled in, credentials "
      "\"<redacted>\"");
  std::string print_file;
  print_command->add_option("-c,--config", print_file, "config file; default: the embedded default")
      ->check(CLI::ExistingFile);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e) == 0 ? 0 : exit_config_error;
  }
  if (schema_command->parsed()) {
    std::fputs(agg::config::pretty_json(agg::config::config_schema()).c_str(), stdout);
    return 0;
  }
  if (print_command->parsed()) return print_effective_config(print_file);
  if (app.count("--check") != 0) {
    if (!check_file.empty() && !config_file.empty() && check_file != config_file) {
      std::fprintf(stderr, "--check %s and --config %s name two configs: give one\n", check_file.c_str(),
                   config_file.c_str());
      return exit_config_error;
    }
    return check(check_file.empty() ? config_file : check_file, given);
  }

  auto loaded = agg::app::load(config_file);
  if (const auto *errors = std::get_if<agg::config::config_errors>(&loaded))
    return report_config_errors(config_file.empty() ? "embedded default config" : config_file, *errors);
  auto &valid = std::get<agg::app::loaded_config>(loaded);
  if (const auto result = agg::app::apply(given, valid.file.config); std::holds_alternative<std::string>(result)) {
    std::fprintf(stderr, "%s\n", std::get<std::string>(result).c_str());
    return exit_config_error;
  }
  agg::process::raise_fd_limit();
  const agg::runtime::service_log log{valid.file.config.log};
  try {
    return serve(std::move(valid), config_file, log);
  } catch (const std::exception &e) {
    log.event(level::error, e.what());
    return 1;
  }
}
