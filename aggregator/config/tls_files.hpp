#pragma once

#include <string>
#include <string_view>

#include "aggregator/client/client_options.hpp"
#include "aggregator/config/config_error.hpp"

namespace agg::config {

/// Makes the client's TLS files absolute (relative ones are in `config_dir`, as token files are)
/// and checks each as the service would use it, with OpenSSL: a CA file holds certificates, a
/// client certificate and its key load and match, and a key file is neither readable by every user
/// nor writable by anyone but its owner. Problems carry their config path
/// (`client.origins["https://api.test"].tls.key_file`).
config_errors check_tls_files(client::client_options &client, const std::string &config_dir);

/// Whether a file that holds a secret (a private key, a token) is neither readable by every user nor
/// writable by anyone but its owner, as ssh asks of its keys; if not, an error at `where` that calls
/// the file `what` ("the key file") and says how to fix it.
bool private_file_ok(const std::string &file, const std::string &where, std::string_view what, config_errors &errors);

}  // namespace agg::config
