#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "aggregator/loop/event_loop.hpp"

namespace agg::client {

/// What a loop knows of curl's sockets: one object per socket's life, not per descriptor number,
/// because a number outlives its socket in two ways. (1) libcurl 7.88's curl_multi_remove_handle of
/// a transfer cancelled mid-response can close() a socket without calling
/// CURLOPT_CLOSESOCKETFUNCTION (strace -k shows the close, no callback), so the number comes back,
/// as a new socket or as a file, while the loop still thinks it watched. (2) An event read in one
/// epoll_wait batch can name a socket that an earlier event of the same batch closed, after which
/// the number was taken again (a TLS handshake opening the CA file, a client accepted): epoll_ctl
/// DEL on it failed with EPERM on a file ("epoll_ctl(DEL): Operation not permitted" under hostile
/// load with a TLS upstream), and on a client connection's socket would silently have unwatched
/// that connection. So a socket closed or replaced is retired (its stale events are ignored) and
/// freed only after the round, and a socket is taken out of the set only while its number still
/// names the same open socket (device and inode, read when curl made it).
///
/// A pooled connection's socket stays registered between transfers although curl said
/// CURL_POLL_REMOVE: the next transfer on it asks for the same events, and skipping epoll_ctl DEL +
/// ADD per transfer was 4-5 % of the process. It leaves the set when it reports an event curl did
/// not ask for (the upstream closed it), or when curl closes it. Loop thread only.
class curl_sockets {
 public:
  struct socket final : loop::io_handler {
    curl_sockets *table = nullptr;
    int fd = -1;
    void *owner = nullptr;         ///< the shard (multi handle) that drives it
    std::uint32_t registered = 0;  ///< the events epoll watches for; 0: not in the set
    std::uint32_t wanted = 0;      ///< the events curl asked for; 0 after CURL_POLL_REMOVE
    bool retired = false;          ///< closed or replaced: events that still name it are stale
    dev_t device = 0;
    ino_t inode = 0;

    void on_events(std::uint32_t events) override;
  };
  /// `ready` runs for each event of a live socket curl wants events of.
  curl_sockets(loop::event_loop &events, std::function<void(socket &, std::uint32_t)> ready)
      : events_(events), ready_(std::move(ready)) {}
  curl_sockets(const curl_sockets &) = delete;
  curl_sockets &operator=(const curl_sockets &) = delete;

  /// curl made a new socket with this number (CURLOPT_SOCKOPTFUNCTION): what was known of the
  /// number belonged to an older socket, closed with or without a word.
  socket &born(int fd);
  /// The socket with this number (made on first use).
  socket &at(int fd);
  /// curl wants `events` on it (0: none for now, and it stays in the set). Throws
  /// std::system_error when epoll refuses.
  void want(socket &s, std::uint32_t events);
  /// curl closes it (CURLOPT_CLOSESOCKETFUNCTION), right after this.
  void closing(int fd) noexcept;
  /// Frees the retired sockets: after a round's events, none of which can name them any more.
  void release_retired() noexcept { retired_.clear(); }

 private:
  /// It reported an event curl did not ask for: out of the set until curl wants it again.
  void set_aside(socket &s) noexcept;
  void retire(std::unique_ptr<socket> &slot) noexcept;
  /// True while `s.fd` is still the open socket `s` was made for.
  [[nodiscard]] static bool still_named(const socket &s) noexcept;

  loop::event_loop &events_;
  std::function<void(socket &, std::uint32_t)> ready_;
  std::vector<std::unique_ptr<socket>> by_number_;
  std::vector<std::unique_ptr<socket>> retired_;
};

}  // namespace agg::client
