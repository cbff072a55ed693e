#pragma once

#include <curl/curl.h>
#include <sys/socket.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "aggregator/client/curl_handles.hpp"

namespace agg::testing {

/// What an HTTPS client got: curl's result, and when it succeeded the status, body, protocol and
/// the server certificate's subject.
struct https_answer {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  long version = 0;  ///< CURL_HTTP_VERSION_1_1, ...
  long connects = 0;
  std::string subject;
};

/// One libcurl handle speaking HTTPS to the data plane: verifying against `ca` (or not at all),
/// optionally with a client certificate. Its connection is kept alive between gets, and its TLS
/// sessions cached, as a browser's would be.
class https_client {
 public:
  /// `ca` "": no verification; "-": cleartext HTTP, nothing to verify.
  explicit https_client(const std::string &ca) {
    handle_.set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    if (ca == "-") {
      // cleartext
    } else if (ca.empty()) {
      handle_.set(CURLOPT_SSL_VERIFYPEER, 0L);
      handle_.set(CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
      handle_.set(CURLOPT_CAINFO, ca.c_str());
    }
    handle_.set(CURLOPT_CERTINFO, 1L);
    handle_.set(CURLOPT_TIMEOUT_MS, 20'000L);
    handle_.set(CURLOPT_WRITEFUNCTION, &https_client::collect);
  }
  https_client &certificate(const std::string &cert, const std::string &key) {
    handle_.set(CURLOPT_SSLCERT, cert.c_str());
    handle_.set(CURLOPT_SSLKEY, key.c_str());
    return *this;
  }
  /// At most TLS 1.2.
  https_client &tls12_only() {
    handle_.set(CURLOPT_SSLVERSION,
                static_cast<long>(CURL_SSLVERSION_TLSv1_2) | static_cast<long>(CURL_SSLVERSION_MAX_TLSv1_2));
    return *this;
  }
  /// Each get on a new connection (its TLS session resumed when the server allows).
  https_client &fresh_connections() {
    handle_.set(CURLOPT_FORBID_REUSE, 1L);
    return *this;
  }
  /// Reads at most this many bytes a second, through an 8 KiB receive buffer: a slow reader, whose
  /// socket the server finds full again and again.
  https_client &slow_reader(curl_off_t bytes_per_second) {
    handle_.set(CURLOPT_MAX_RECV_SPEED_LARGE, bytes_per_second);
    handle_.set(CURLOPT_SOCKOPTFUNCTION, &https_client::small_buffer);
    return *this;
  }

  /// Which HTTP it speaks: CURL_HTTP_VERSION_2TLS (h2 by ALPN, else HTTP/1.1),
  /// CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE (h2c), CURL_HTTP_VERSION_1_1 (the default here).
  https_client &http_version(long version) {
    handle_.set(CURLOPT_HTTP_VERSION, version);
    return *this;
  }
  /// A request header sent with every get.
  https_client &header(const std::string &line) {
    headers_.append(line.c_str());
    handle_.set(CURLOPT_HTTPHEADER, headers_.get());
    return *this;
  }

  https_answer get(const std::string &url) {
    https_answer out;
    handle_.set(CURLOPT_URL, url.c_str());
    handle_.set(CURLOPT_WRITEDATA, &out.body);
    out.code = curl_easy_perform(handle_.get());
    if (out.code != CURLE_OK) return out;
    curl_easy_getinfo(handle_.get(), CURLINFO_RESPONSE_CODE, &out.status);
    curl_easy_getinfo(handle_.get(), CURLINFO_HTTP_VERSION, &out.version);
    curl_easy_getinfo(handle_.get(), CURLINFO_NUM_CONNECTS, &out.connects);
    curl_certinfo *chain = nullptr;
    if (curl_easy_getinfo(handle_.get(), CURLINFO_CERTINFO, &chain) == CURLE_OK && chain != nullptr &&
        chain->num_of_certs > 0)
      for (curl_slist *field = chain->certinfo[0]; field != nullptr; field = field->next)
        if (std::string_view{field->data}.starts_with("Subject:")) out.subject = field->data + 8;
    return out;
  }

 private:
  static int small_buffer(void *, curl_socket_t fd, curlsocktype) {
    const int bytes = 8 << 10;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
    return CURL_SOCKOPT_OK;
  }
  static std::size_t collect(char *data, std::size_t size, std::size_t count, void *into) {
    static_cast<std::string *>(into)->append(data, size * count);
    return size * count;
  }

  agg::client::easy_handle handle_;
  agg::client::header_list headers_;
};

}  // namespace agg::testing
