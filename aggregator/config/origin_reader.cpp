#include "aggregator/config/origin_reader.hpp"

#include <curl/curl.h>

#include <boost/url/parse.hpp>

namespace agg::config {

namespace {

void read_tls(config_checker &c, const boost::json::value &v, const std::string &path, client::tls_options &out) {
  const boost::json::object *o = c.object(v, path, {"ca_file", "cert_file", "key_file", "server_name", "verify"});
  if (o == nullptr) return;
  out.ca_file = c.text(*o, path, "ca_file", false).value_or("");
  out.cert_file = c.text(*o, path, "cert_file", false).value_or("");
  out.key_file = c.text(*o, path, "key_file", false).value_or("");
  out.server_name = c.text(*o, path, "server_name", false).value_or("");
  c.boolean(*o, path, "verify", out.verify);
  if (out.cert_file.empty() != out.key_file.empty())
    c.fail(child(path, out.cert_file.empty() ? "cert_file" : "key_file"),
           "a client certificate needs both cert_file and key_file");
  if (!out.server_name.empty()) {
    const auto parsed = boost::urls::parse_authority(out.server_name);
    if (!parsed || parsed->has_port() || parsed->has_userinfo() || out.server_name.find('%') != std::string::npos)
      c.fail(child(path, "server_name"), "must be a host name, e.g. api.internal");
  }
}

}  // namespace

std::string origin_key(std::string_view text) {
  const auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") || !parsed->has_authority() ||
      parsed->encoded_host().empty() || parsed->has_userinfo() || !parsed->encoded_path().empty() ||
      parsed->has_query() || parsed->has_fragment())
    return {};
  return std::string{text};
}

std::string http2_refusal(std::string_view scheme) {
  const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
  const std::string version = std::string{"libcurl "} + curl->version;
  if ((curl->features & CURL_VERSION_HTTP2) == 0) return version + " was built without HTTP/2";
  // Measured with 7.88.1 (Debian 12): parallel streams over one h2c connection fail with "Error in
  // the HTTP2 framing layer"; fixed in 8.x.
  if (scheme == "http" && curl->version_num < 0x080000)
    return version + " fails parallel HTTP/2 streams without TLS (h2c); use https, or http \"1.1\"";
  return {};
}

void read_origins(config_checker &c, const boost::json::value &origins, const std::string &path,
                  std::map<std::string, client::origin_options, std::less<>> &out) {
  const boost::json::object *o = c.map(origins, path);
  if (o == nullptr) return;
  for (const auto &[given, v] : *o) {
    const std::string where = origin_path(path, std::string{given});
    const std::string key = origin_key(given);
    if (key.empty()) {
      c.fail(where, "must be an origin: http:// or https://, a host and an optional port, nothing after them");
      continue;
    }
    const boost::json::object *entry = c.object(v, where, {"tls", "http", "compression"});
    if (entry == nullptr) continue;
    client::origin_options options;
    const bool https = key.starts_with("https:");
    if (const auto *tls = entry->if_contains("tls")) {
      if (!https) c.fail(child(where, "tls"), "is for https origins");
      read_tls(c, *tls, child(where, "tls"), options.tls);
    }
    c.shape(entry->if_contains("http"), {{"enum", boost::json::array{"1.1", "2", "auto"}}});
    if (const auto http = c.text(*entry, where, "http", false)) {
      if (*http == "1.1") {
        options.http = client::http_version::v1_1;
      } else if (*http == "2" || *http == "auto") {
        options.http = *http == "2" ? client::http_version::v2 : client::http_version::automatic;
        if (const std::string why = http2_refusal(https ? "https" : "http"); !why.empty() && *http == "2")
          c.fail(child(where, "http"), "cannot be \"2\": " + why);
      } else {
        c.fail(child(where, "http"), "must be \"1.1\", \"2\" or \"auto\"");
      }
    }
    c.boolean(*entry, where, "compression", options.compression);
    if (!out.emplace(key, std::move(options)).second) c.fail(where, "names the same origin as another entry");
  }
}

std::string origin_path(const std::string &path, std::string_view origin) {
  return path + "[\"" + std::string{origin} + "\"]";
}

}  // namespace agg::config
