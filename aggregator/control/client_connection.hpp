#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace agg::control {

/// One accepted client connection, and the Stream cpp-httplib reads a request from. The socket is
/// read by the listener (through a request_reader, which checks framing and limits); cpp-httplib
/// only reads the request head the reader accepted, replayed from memory, and writes its response
/// to the socket. Used by one worker thread.
class client_connection final : public httplib::Stream {
 public:
  using clock = std::chrono::steady_clock;

  /// `stop_fd` becomes readable when the server stops: an idle keep-alive wait ends at once then.
  client_connection(int fd, int stop_fd, std::chrono::milliseconds write_timeout) noexcept
      : fd_(fd), stop_fd_(stop_fd), write_timeout_(write_timeout) {}

  /// Waits up to `idle` for the first byte of a next request; false when the client left, the time
  /// ran out, or the server is stopping.
  bool wait_for_request(std::chrono::milliseconds idle) const;
  /// Receives what the client sent, waiting no later than `deadline`: the byte count, 0 when the
  /// client closed, -1 when the time ran out, the server is stopping, or the socket failed.
  ssize_t receive(char *buffer, std::size_t size, clock::time_point deadline) const;
  /// Writes all of `bytes` (each wait for the socket bounded by the write timeout); false on failure.
  bool send_all(std::string_view bytes);
  /// What read() hands cpp-httplib next: a request head the reader accepted.
  void replay(std::string head) {
    replay_ = std::move(head);
    replayed_ = 0;
  }

  bool is_readable() const override { return replayed_ < replay_.size(); }
  bool is_writable() const override;
  ssize_t read(char *ptr, size_t size) override;
  ssize_t write(const char *ptr, size_t size) override;
  void get_remote_ip_and_port(std::string &ip, int &port) const override;
  void get_local_ip_and_port(std::string &ip, int &port) const override;
  socket_t socket() const override { return fd_; }

 private:
  int fd_;
  int stop_fd_;
  std::chrono::milliseconds write_timeout_;
  std::string replay_;
  std::size_t replayed_ = 0;
};

}  // namespace agg::control
