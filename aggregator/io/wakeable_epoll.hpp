#pragma once

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "aggregator/io/unique_fd.hpp"

namespace agg::io {

/// An epoll set with an eventfd in it that other threads write to wake whoever waits on the set:
/// the wake-up arrives as an event whose data is `wake_token`. The waiter adds its own
/// descriptors with any other data. Thread-safe: wake() from anywhere.
class wakeable_epoll {
 public:
  static constexpr std::uint64_t wake_token = ~std::uint64_t{0};

  wakeable_epoll()
      : epoll_(unique_fd::checked(epoll_create1(EPOLL_CLOEXEC), "epoll_create1")),
        event_(unique_fd::checked(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd")) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = wake_token;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, event_.get(), &ev) != 0)
      throw std::system_error(errno, std::generic_category(), "epoll_ctl(eventfd)");
  }

  /// The epoll descriptor, for epoll_ctl and epoll_wait.
  [[nodiscard]] int fd() const noexcept { return epoll_.get(); }
  /// Makes the waiter's epoll_wait return with `wake_token` (once, however often it is called).
  void wake() const noexcept {
    const std::uint64_t one = 1;
    if (::write(event_.get(), &one, sizeof one) < 0) std::fprintf(stderr, "eventfd write: %s\n", std::strerror(errno));
  }
  /// Re-arms the wake-up; the waiter calls it after seeing `wake_token`, before looking for work.
  void consume_wake() const noexcept {
    std::uint64_t count = 0;
    if (::read(event_.get(), &count, sizeof count) < 0 && errno != EAGAIN)
      std::fprintf(stderr, "eventfd read: %s\n", std::strerror(errno));
  }

 private:
  unique_fd epoll_;
  unique_fd event_;
};

}  // namespace agg::io
