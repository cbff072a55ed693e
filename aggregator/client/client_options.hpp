#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace agg::client {

/// How calls to one HTTPS origin check the server and prove who they are. Empty files: the
/// client's CA (`client_options::ca_file`, else the system store), and no client certificate.
struct tls_options {
  std::string ca_file;      ///< PEM CA certificates that sign this origin's certificate
  std::string cert_file;    ///< the client certificate (mutual TLS), PEM
  std::string key_file;     ///< its private key, PEM
  std::string server_name;  ///< the name to ask for (SNI) and verify, when the URL's host is not it
  bool verify = true;       ///< false only by an explicit per-origin choice (logged at start)
};

/// Which HTTP an origin is spoken to in.
enum class http_version { v1_1, v2, automatic };

/// What one origin (scheme, host and port, as the route URLs write them) is called with.
struct origin_options {
  tls_options tls;
  http_version http = http_version::v1_1;
  bool compression = true;  ///< ask for gzip, br, zstd, deflate (what libcurl decodes) and decode them
};

/// How the upstream client runs: its threads, its connection pools and the options every call shares.
struct client_options {
  std::size_t loops = 0;                 ///< event loop threads; 0: one per core
  std::size_t shards_per_loop = 64;      ///< multi handles per loop (libcurl 7.88 cost grows per cache)
  std::size_t max_connections = 15'000;  ///< upstream connections across all loops; excess calls queue
  std::chrono::milliseconds connect_timeout{2'000};
  /// A multi handle (beyond each loop's first) that no call used for this long closes its idle
  /// connections: after a burst, the surplus goes, as nginx's upstream keepalive_timeout (60 s).
  std::chrono::milliseconds pool_idle_timeout{30'000};
  /// What libcurl reads a response into (CURLOPT_BUFFERSIZE), per call in flight: one page, as
  /// nginx's proxy_buffer_size. 16 KiB (curl's default) held 58 MiB more at 10 000 calls in flight.
  std::size_t receive_buffer_bytes = 4'096;
  std::size_t max_connections_per_origin = 0;  ///< calls in flight per origin per process; 0: no cap
  std::string ca_file;                         ///< PEM CA certificates for every HTTPS origin; empty: the system store
  std::map<std::string, origin_options, std::less<>> origins;  ///< keyed by origin, e.g. https://api.test:8443

  /// True when some call differs from the defaults (a CA, an origin's own options): then every call
  /// sets its TLS options and HTTP version, since a pooled handle may have served another origin.
  [[nodiscard]] bool customised() const noexcept { return !ca_file.empty() || !origins.empty(); }
  /// The options of `origin`, or null when it has none of its own.
  [[nodiscard]] const origin_options *options_of(std::string_view origin) const {
    const auto it = origins.find(origin);
    return it == origins.end() ? nullptr : &it->second;
  }
};

}  // namespace agg::client
