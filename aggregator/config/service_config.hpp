#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "aggregator/client/client_options.hpp"
#include "aggregator/config/url_template.hpp"

namespace agg::config {

/// One entry of a route's upstream list: a fixed URL, or a template repeated `num` times with
/// `{i}` = 0, 1, ... num-1.
struct upstream_entry {
  url_template url;
  bool repeat = false;
};

/// The bounds of the `num` query parameter of a route with repeated entries.
struct count_limits {
  std::size_t default_count = 10;
  std::size_t max_count = 1000;
};

/// A query parameter a route accepts and its templates use as `{name}`.
struct param_spec {
  std::optional<std::string> default_value;  ///< none: the parameter is required
  std::size_t max_length = 256;
};

/// One aggregated endpoint: served async at `path` and as the sync baseline at `path + "_sync"`.
struct route_config {
  std::string name;
  std::string path;
  std::string message;
  std::optional<count_limits> num;  ///< present exactly when an entry repeats
  std::map<std::string, param_spec, std::less<>> params;
  std::chrono::milliseconds timeout{10'000};  ///< per upstream call
  std::size_t max_body_bytes = 1 << 20;       ///< per upstream body
  std::vector<upstream_entry> upstreams;

  [[nodiscard]] std::string sync_path() const { return path + "_sync"; }
};

/// Where and how the HTTP front listens.
struct server_config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::size_t threads = 1024;  ///< one per open client connection (cpp-httplib keeps it per keep-alive)
  int backlog = 4096;
};

/// The whole validated configuration; immutable once loaded.
struct service_config {
  server_config server;
  client::client_options client;
  std::vector<route_config> routes;
};

}  // namespace agg::config
