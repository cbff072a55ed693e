#pragma once

#include <curl/curl.h>

#include <stdexcept>
#include <string>
#include <utility>

#include "aggregator/io/unique_handle.hpp"

namespace agg::client {

/// A libcurl call that failed where failing means our setup is wrong (not an upstream failure).
class curl_error : public std::runtime_error {
 public:
  curl_error(const std::string &what, CURLcode code) : std::runtime_error(what + ": " + curl_easy_strerror(code)) {}
  curl_error(const std::string &what, CURLMcode code) : std::runtime_error(what + ": " + curl_multi_strerror(code)) {}
  explicit curl_error(const std::string &what) : std::runtime_error(what) {}
};

/// Initialises libcurl once per process, before the first handle; safe to call from any thread.
void ensure_curl_global_init();

/// Owns one of libcurl's C handles (CURL, CURLM, CURLU): io::unique_handle, failing as curl_error.
template <typename Handle, auto release>
using unique_handle = io::unique_handle<Handle, release, curl_error>;

/// Owns one CURL easy handle. Move-only; options are checked as they are set.
class easy_handle : public unique_handle<CURL, curl_easy_cleanup> {
 public:
  easy_handle();

  template <typename Value>
  void set(CURLoption option, Value value) {
    if (const CURLcode rc = curl_easy_setopt(get(), option, value); rc != CURLE_OK)
      throw curl_error("curl_easy_setopt(" + std::to_string(option) + ")", rc);
  }
};

/// Owns one CURLM multi handle. Move-only; options are checked as they are set.
class multi_handle : public unique_handle<CURLM, curl_multi_cleanup> {
 public:
  multi_handle();

  template <typename Value>
  void set(CURLMoption option, Value value) {
    if (const CURLMcode rc = curl_multi_setopt(get(), option, value); rc != CURLM_OK)
      throw curl_error("curl_multi_setopt(" + std::to_string(option) + ")", rc);
  }
};

/// A URL parsed by libcurl (CURLU).
using url_handle = unique_handle<CURLU, curl_url_cleanup>;

/// Owns one CURLSH: the DNS cache and the TLS sessions its easy handles share. Used from one thread
/// only (a loop's), so it sets no lock functions. Every handle using it must be gone before it.
class share_handle : public unique_handle<CURLSH, curl_share_cleanup> {
 public:
  share_handle();
};

/// Owns a curl_slist of request headers.
class header_list {
 public:
  header_list() noexcept = default;
  header_list(header_list &&other) noexcept : head_(std::exchange(other.head_, nullptr)) {}
  header_list &operator=(header_list &&other) noexcept {
    std::swap(head_, other.head_);
    return *this;
  }
  header_list(const header_list &) = delete;
  header_list &operator=(const header_list &) = delete;
  ~header_list() { curl_slist_free_all(head_); }

  void append(const std::string &line);
  [[nodiscard]] curl_slist *get() const noexcept { return head_; }

 private:
  curl_slist *head_ = nullptr;
};

}  // namespace agg::client
