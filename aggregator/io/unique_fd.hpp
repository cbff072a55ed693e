#pragma once

#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace agg::io {

/// Owns a file descriptor (epoll instance, eventfd); closes it once. Move-only.
class unique_fd {
 public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  /// Takes the result of a call that returns a descriptor or -1 with errno; throws on -1.
  static unique_fd checked(int fd, const char *what) {
    if (fd < 0) throw std::system_error(errno, std::generic_category(), what);
    return unique_fd{fd};
  }
  unique_fd(unique_fd &&other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd &operator=(unique_fd &&other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  unique_fd(const unique_fd &) = delete;
  unique_fd &operator=(const unique_fd &) = delete;
  ~unique_fd() {
    if (fd_ >= 0) ::close(fd_);
  }

  [[nodiscard]] int get() const noexcept { return fd_; }
  /// Gives the descriptor up without closing it.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

}  // namespace agg::io
