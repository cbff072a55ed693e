#include "aggregator/client/curl_handles.hpp"

#include <mutex>

namespace agg::client {

void ensure_curl_global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK)
      throw curl_error("curl_global_init", rc);
  });
}

easy_handle::easy_handle() : unique_handle((ensure_curl_global_init(), curl_easy_init()), "curl_easy_init") {}

multi_handle::multi_handle() : unique_handle((ensure_curl_global_init(), curl_multi_init()), "curl_multi_init") {}

share_handle::share_handle() : unique_handle((ensure_curl_global_init(), curl_share_init()), "curl_share_init") {
  for (const curl_lock_data data : {CURL_LOCK_DATA_DNS, CURL_LOCK_DATA_SSL_SESSION})
    if (const CURLSHcode rc = curl_share_setopt(get(), CURLSHOPT_SHARE, data); rc != CURLSHE_OK)
      throw curl_error(std::string{"curl_share_setopt(CURLSHOPT_SHARE): "} + curl_share_strerror(rc));
}

void header_list::append(const std::string &line) {
  curl_slist *const extended = curl_slist_append(head_, line.c_str());
  if (extended == nullptr) throw curl_error("curl_slist_append failed");
  head_ = extended;
}

}  // namespace agg::client
