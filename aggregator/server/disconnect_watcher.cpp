#include "aggregator/server/disconnect_watcher.hpp"

#include <sys/epoll.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace agg::server {

disconnect_watcher::disconnect_watcher() : thread_([this] { run(); }) {}

disconnect_watcher::~disconnect_watcher() {
  events_.wake();
  thread_.join();
}

disconnect_watcher::registration disconnect_watcher::watch(int fd, std::stop_source stop) {
  const std::lock_guard lock{mutex_};
  const std::uint32_t generation = ++next_generation_;
  watched_.insert_or_assign(fd, watched{generation, std::move(stop)});
  epoll_event ev{};
  // One report is enough; the generation tells a stale report (an fd number reused since) apart.
  ev.events = EPOLLRDHUP | EPOLLONESHOT;
  ev.data.u64 = (std::uint64_t{generation} << 32) | static_cast<std::uint32_t>(fd);
  if (epoll_ctl(events_.fd(), EPOLL_CTL_ADD, fd, &ev) != 0)
    std::fprintf(stderr, "disconnect_watcher: epoll_ctl(ADD): %s\n", std::strerror(errno));
  return registration{*this, fd};
}

void disconnect_watcher::unwatch(int fd) {
  const std::lock_guard lock{mutex_};
  if (epoll_ctl(events_.fd(), EPOLL_CTL_DEL, fd, nullptr) != 0 && errno != ENOENT)
    std::fprintf(stderr, "disconnect_watcher: epoll_ctl(DEL): %s\n", std::strerror(errno));
  watched_.erase(fd);
}

void disconnect_watcher::run() {
  std::array<epoll_event, 64> events{};
  for (;;) {
    const int n = epoll_wait(events_.fd(), events.data(), static_cast<int>(events.size()), -1);
    if (n < 0 && errno != EINTR) std::perror("disconnect_watcher: epoll_wait");
    for (int i = 0; i < n; ++i) {
      const std::uint64_t data = events[static_cast<std::size_t>(i)].data.u64;
      if (data == io::wakeable_epoll::wake_token) return;
      const int fd = static_cast<int>(data & 0xffff'ffffU);
      const auto generation = static_cast<std::uint32_t>(data >> 32);
      const std::lock_guard lock{mutex_};
      const auto found = watched_.find(fd);
      if (found != watched_.end() && found->second.generation == generation) found->second.stop.request_stop();
    }
  }
}

}  // namespace agg::server
