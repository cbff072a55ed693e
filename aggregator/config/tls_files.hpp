#pragma once

#include <string>
#include <string_view>

#include "aggregator/client/client_options.hpp"
#include "aggregator/config/config_error.hpp"
#include "aggregator/config/service_config.hpp"

namespace agg::config {

/// Makes the client's TLS files absolute (relative ones are in `config_dir`, as token files are)
/// and checks each as the service would use it, with OpenSSL: a CA file holds certificates, a
/// client certificate and its key load and match, and a key file is neither readable by every user
/// nor writable by anyone but its owner. Problems carry their config path
/// (`client.origins["https://api.test"].tls.key_file`).
config_errors check_tls_files(client::client_options &client, const std::string &config_dir);

/// Makes `server.tls`'s files absolute (relative ones are in `config_dir`) and checks that each can
/// be read and that the key file is private; whether they hold what they should is for the TLS
/// context that loads them (front::make_server_context).
config_errors resolve_server_tls_files(server_tls_config &tls, const std::string &config_dir);

/// OpenSSL's reason for the last failure on this thread ("unknown reason" when it gave none), with
/// its error queue emptied.
std::string openssl_reason();

/// Whether a file that holds a secret (a private key, a token) is neither readable by every user nor
/// writable by anyone but its owner, as ssh asks of its keys; if not, an error at `where` that calls
/// the file `what` ("the key file") and says how to fix it.
bool private_file_ok(const std::string &file, const std::string &where, std::string_view what, config_errors &errors);

}  // namespace agg::config
