#pragma once

#include <httplib.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <string>

namespace agg::server {

/// One accepted client connection as cpp-httplib's Stream, so the front knows the socket it
/// serves (cpp-httplib 0.11.4 hides it from handlers) and can watch it for a disconnect. Unlike
/// 0.11.4's own stream it waits for a keep-alive request with one blocking poll, not a 10 ms poll
/// loop, and answers a client that half-closed after its request. Used by one worker thread.
class client_connection final : public httplib::Stream {
 public:
  /// `stop_fd` becomes readable when the server stops: an idle keep-alive wait ends at once then.
  client_connection(int fd, int stop_fd, std::chrono::milliseconds read_timeout,
                    std::chrono::milliseconds write_timeout) noexcept
      : fd_(fd), stop_fd_(stop_fd), read_timeout_(read_timeout), write_timeout_(write_timeout) {}

  /// Waits up to `idle` for the next request; false when the client left, the time ran out, or
  /// the server is stopping.
  bool wait_for_request(std::chrono::milliseconds idle) const;

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char *ptr, size_t size) override;
  ssize_t write(const char *ptr, size_t size) override;
  void get_remote_ip_and_port(std::string &ip, int &port) const override;
  void get_local_ip_and_port(std::string &ip, int &port) const override;
  socket_t socket() const override { return fd_; }

 private:
  int fd_;
  int stop_fd_;
  std::chrono::milliseconds read_timeout_;
  std::chrono::milliseconds write_timeout_;
  std::array<char, 4096> buffer_{};  // cpp-httplib reads request lines byte by byte
  std::size_t buffered_begin_ = 0;
  std::size_t buffered_end_ = 0;
};

}  // namespace agg::server
