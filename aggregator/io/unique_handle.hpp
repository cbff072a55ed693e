#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace agg::io {

/// Owns one handle of a C library (libcurl's CURL, CURLM, CURLU; cjose's keys and signatures) and
/// releases it with `release`: move-only, never null once made. A null `handle` throws `Error`
/// naming the call that failed to make it (`what`); callers for whom null is an expected answer
/// (a token that does not parse) check before they wrap.
template <typename Handle, auto release, typename Error = std::runtime_error>
class unique_handle {
 public:
  unique_handle(Handle *handle, const char *what) : handle_(handle) {
    if (handle_ == nullptr) throw Error(std::string{what} + " failed");
  }
  unique_handle(unique_handle &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  unique_handle &operator=(unique_handle &&other) noexcept {
    std::swap(handle_, other.handle_);
    return *this;
  }
  unique_handle(const unique_handle &) = delete;
  unique_handle &operator=(const unique_handle &) = delete;
  ~unique_handle() {
    if (handle_ != nullptr) static_cast<void>(release(handle_));  // nothing to do about a failure here
  }

  [[nodiscard]] Handle *get() const noexcept { return handle_; }
  /// Gives the handle up without releasing it: for a library that frees it itself (hiredis frees a
  /// connection it lost); the owner is then empty, as a moved-from one is.
  [[nodiscard]] Handle *give_up() noexcept { return std::exchange(handle_, nullptr); }

 private:
  Handle *handle_;
};

}  // namespace agg::io
