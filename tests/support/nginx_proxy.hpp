#pragma once

#include <httplib.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aggregator/process/child_process.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/scratch_dir.hpp"

namespace agg::testing {

/// Debian's nginx in front of aggregator replicas, as configs/nginx.conf puts it: keep-alive
/// connections to the replicas, HTTP/1.1, retries only when a replica cannot be reached. Listens on
/// 127.0.0.1 and a free port; `extra_locations` goes into its server block (e.g. a deny rule).
class nginx_proxy {
 public:
  static constexpr const char *binary = "/usr/sbin/nginx";

  nginx_proxy(const std::vector<int> &replica_ports, const std::string &extra_locations = {}) : port_(refused_port()) {
    const std::string prefix = dir_.path.string();
    std::string servers;
    for (const int p : replica_ports)
      servers += "    server 127.0.0.1:" + std::to_string(p) + " max_fails=1 fail_timeout=30s;\n";
    const auto conf = dir_.file("nginx.conf",
                                "daemon off; master_process off; worker_processes 1;\n"
                                "pid " +
                                    prefix +
                                    "/nginx.pid; error_log stderr warn;\n"
                                    "events { worker_connections 256; }\n"
                                    "http { access_log off;\n"
                                    "  client_body_temp_path " +
                                    prefix + "/body; proxy_temp_path " + prefix +
                                    "/proxy;\n"
                                    "  fastcgi_temp_path " +
                                    prefix + "/fcgi; uwsgi_temp_path " + prefix + "/uwsgi; scgi_temp_path " + prefix +
                                    "/scgi;\n"
                                    "  upstream aggregators {\n" +
                                    servers +
                                    "    keepalive 8; }\n"
                                    "  server { listen 127.0.0.1:" +
                                    std::to_string(port_) + ";\n" + extra_locations +
                                    "    location / { proxy_pass http://aggregators; proxy_http_version 1.1;\n"
                                    "      proxy_set_header Connection \"\"; proxy_next_upstream error timeout;\n"
                                    "      proxy_connect_timeout 1s; } } }\n");
    process_.emplace(std::vector<std::string>{binary, "-p", prefix, "-c", conf});
    httplib::Client probe{"127.0.0.1", port_};
    started_ = eventually([&] { return static_cast<bool>(probe.Get("/health")); });
  }

  /// True once nginx answered through to a replica.
  [[nodiscard]] bool started() const noexcept { return started_; }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  scratch_dir dir_;
  std::uint16_t port_;
  std::optional<process::child_process> process_;
  bool started_ = false;
};

}  // namespace agg::testing
