#pragma once

#include <boost/json/value.hpp>

#include <map>
#include <string>

#include "aggregator/client/client_options.hpp"
#include "aggregator/config/config_checker.hpp"

namespace agg::config {

/// Reads `client.origins`: per origin (`https://host:port`, as the route URLs write it) its `tls`
/// (`ca_file`, `cert_file`, `key_file`, `server_name`, `verify`), `http` ("1.1", "2", "auto") and
/// `compression` (true: ask for compressed bodies and decode them).
/// HTTP/2 is refused, with the reason, where the linked libcurl cannot do it. The files are checked
/// later, against the config's folder (check_tls_files).
void read_origins(config_checker &checker, const boost::json::value &origins, const std::string &path,
                  std::map<std::string, client::origin_options, std::less<>> &out);

/// `path["https://host:8443"]`: the config path of an origin's entry in a map keyed by origins.
std::string origin_path(const std::string &path, std::string_view origin);

/// `text` when it is an origin alone: http or https, a host and an optional port, no path, query,
/// fragment or user; empty otherwise. Calls find their origin's options by the same text.
std::string origin_key(std::string_view text);

/// Why the linked libcurl cannot speak HTTP/2 to a `scheme` ("http" or "https") origin; empty
/// when it can.
std::string http2_refusal(std::string_view scheme);

}  // namespace agg::config
