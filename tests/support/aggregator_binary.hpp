#pragma once

#include <string>
#include <vector>

#include "aggregator/process/child_process.hpp"
#include "tests/support/scratch_dir.hpp"

namespace agg::testing {

/// The built aggregator binary on a config of the test's, its data plane and control plane on
/// 127.0.0.1 and free ports, with an admin token in a file beside the config. Killed when the test
/// ends.
class aggregator_binary {
 public:
  static constexpr const char *admin_token = "admin-token-0123456789abcdef";

  /// `routes` is the config's routes array (JSON text); `extra_args` go on the command line;
  /// `members` are more of the config's top-level members (`"store":{...}`), after a comma.
  explicit aggregator_binary(const std::string &routes, std::vector<std::string> extra_args = {},
                             const std::string &members = {})
      : config_(write_config(dir_, routes, members)),
        program_(arguments(config_, std::move(extra_args))),
        port_(program_.listening_port()),
        admin_port_(program_.listening_port()) {}

  /// The data plane's port.
  [[nodiscard]] int port() const noexcept { return port_; }
  /// The control plane's port (admin API, /metrics).
  [[nodiscard]] int admin_port() const noexcept { return admin_port_; }
  [[nodiscard]] const std::string &config_file() const noexcept { return config_; }
  [[nodiscard]] process::child_process &program() noexcept { return program_; }

 private:
  static std::string write_config(const scratch_dir &dir, const std::string &routes, const std::string &members) {
    dir.file("admin.token", std::string{admin_token} + "\n");
    return dir.file("config.json", R"({"server":{"threads":32},"auth":{"admin_token_file":"admin.token"},"routes":)" +
                                       routes + members + "}");
  }
  static std::vector<std::string> arguments(const std::string &config, std::vector<std::string> extra) {
    std::vector<std::string> args{AGG_AGGREGATOR_BINARY, "--config",       config,       "--listen",
                                  "127.0.0.1:0",         "--admin-listen", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  scratch_dir dir_;
  std::string config_;
  process::child_process program_;
  int port_;
  int admin_port_;
};

}  // namespace agg::testing
