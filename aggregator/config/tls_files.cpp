#include "aggregator/config/tls_files.hpp"

#include "aggregator/config/config_checker.hpp"
#include "aggregator/config/origin_reader.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <system_error>

namespace agg::config {

namespace {

namespace fs = std::filesystem;

struct ssl_ctx_free_t {
  void operator()(SSL_CTX *ctx) const noexcept { SSL_CTX_free(ctx); }
};
using ssl_context = std::unique_ptr<SSL_CTX, ssl_ctx_free_t>;

/// `file` made absolute against `dir`; an error at `where` when it does not name a readable file.
bool resolve(std::string &file, const std::string &dir, const std::string &where, config_errors &errors) {
  if (file.empty()) return false;
  fs::path path{file};
  if (path.is_relative()) path = fs::path{dir} / path;
  std::error_code ec;
  path = fs::absolute(path, ec).lexically_normal();
  file = path.string();
  if (!fs::is_regular_file(path, ec)) {
    errors.push_back({where, "no such file: " + file});
    return false;
  }
  if (std::FILE *f = std::fopen(file.c_str(), "rb"); f != nullptr) {
    std::fclose(f);
    return true;
  }
  errors.push_back({where, "cannot read " + file});
  return false;
}

void check_ca(const std::string &file, const std::string &where, config_errors &errors) {
  const ssl_context ctx{SSL_CTX_new(TLS_client_method())};
  if (!ctx || SSL_CTX_load_verify_locations(ctx.get(), file.c_str(), nullptr) != 1)
    errors.push_back({where, "no CA certificates in " + file + ": " + openssl_reason()});
}

void check_client_certificate(const client::tls_options &tls, const std::string &path, config_errors &errors) {
  const ssl_context ctx{SSL_CTX_new(TLS_client_method())};
  if (!ctx) return errors.push_back({path, "OpenSSL could not start: " + openssl_reason()});
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert_file.c_str()) != 1)
    return errors.push_back({path + ".cert_file", "not a PEM certificate: " + tls.cert_file + ": " + openssl_reason()});
  // OpenSSL checks the key against the certificate as it loads it.
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    const bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
    const std::string reason = openssl_reason();
    errors.push_back({path + ".key_file", mismatch ? "does not match the certificate in " + tls.cert_file
                                                   : "not a PEM private key: " + tls.key_file + ": " + reason});
  }
}

}  // namespace

std::string openssl_reason() {
  std::string reason;
  for (unsigned long code = ERR_get_error(); code != 0; code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    reason = text;  // the first one queued is the root cause; keep the last read, the outermost
  }
  return reason.empty() ? "unknown reason" : reason;
}

bool private_file_ok(const std::string &file, const std::string &where, std::string_view what, config_errors &errors) {
  std::error_code ec;
  const fs::perms p = fs::status(file, ec).permissions();
  if (ec) return true;
  const bool world_readable = (p & fs::perms::others_read) != fs::perms::none;
  const bool writable = (p & (fs::perms::group_write | fs::perms::others_write)) != fs::perms::none;
  if (!world_readable && !writable) return true;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(p) & 07777U);
  errors.push_back({where, std::string{what} + " " + file + " is " +
                               (world_readable ? "readable by every user" : "writable by others") + " (mode " + mode +
                               "): chmod 600 it (or 640 for a group)"});
  return false;
}

config_errors resolve_server_tls_files(server_tls_config &tls, const std::string &config_dir) {
  config_errors errors;
  resolve(tls.cert_file, config_dir, "server.tls.cert_file", errors);
  if (resolve(tls.key_file, config_dir, "server.tls.key_file", errors))
    private_file_ok(tls.key_file, "server.tls.key_file", "the key file", errors);
  resolve(tls.client_ca_file, config_dir, "server.tls.client_ca_file", errors);
  return errors;
}

config_errors check_tls_files(client::client_options &client, const std::string &config_dir) {
  config_errors errors;
  ERR_clear_error();
  if (resolve(client.ca_file, config_dir, "client.ca_file", errors)) check_ca(client.ca_file, "client.ca_file", errors);
  for (auto &[origin, options] : client.origins) {
    client::tls_options &tls = options.tls;
    const std::string path = child(origin_path("client.origins", origin), "tls");
    if (resolve(tls.ca_file, config_dir, path + ".ca_file", errors)) check_ca(tls.ca_file, path + ".ca_file", errors);
    const bool cert = resolve(tls.cert_file, config_dir, path + ".cert_file", errors);
    const bool key = resolve(tls.key_file, config_dir, path + ".key_file", errors) &&
                     private_file_ok(tls.key_file, path + ".key_file", "the key file", errors);
    if (cert && key) check_client_certificate(tls, path, errors);
  }
  return errors;
}

}  // namespace agg::config
