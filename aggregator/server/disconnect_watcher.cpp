#include "aggregator/server/disconnect_watcher.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace agg::server {

namespace {

constexpr std::uint64_t wake_token = ~std::uint64_t{0};

client::unique_fd checked(int fd, const char *what) {
  if (fd < 0) throw std::system_error(errno, std::generic_category(), what);
  return client::unique_fd{fd};
}

}  // namespace

disconnect_watcher::disconnect_watcher()
    : epoll_(checked(epoll_create1(EPOLL_CLOEXEC), "epoll_create1")),
      wake_(checked(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd")) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = wake_token;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) != 0)
    throw std::system_error(errno, std::generic_category(), "epoll_ctl(eventfd)");
  thread_ = std::thread([this] { run(); });
}

disconnect_watcher::~disconnect_watcher() {
  const std::uint64_t one = 1;
  if (write(wake_.get(), &one, sizeof one) < 0) std::perror("disconnect_watcher: eventfd write");
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
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
    std::fprintf(stderr, "disconnect_watcher: epoll_ctl(ADD): %s\n", std::strerror(errno));
  return registration{*this, fd};
}

void disconnect_watcher::unwatch(int fd) {
  const std::lock_guard lock{mutex_};
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr) != 0 && errno != ENOENT)
    std::fprintf(stderr, "disconnect_watcher: epoll_ctl(DEL): %s\n", std::strerror(errno));
  watched_.erase(fd);
}

void disconnect_watcher::run() {
  std::array<epoll_event, 64> events{};
  for (;;) {
    const int n = epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), -1);
    if (n < 0 && errno != EINTR) std::perror("disconnect_watcher: epoll_wait");
    for (int i = 0; i < n; ++i) {
      const std::uint64_t data = events[static_cast<std::size_t>(i)].data.u64;
      if (data == wake_token) return;
      const int fd = static_cast<int>(data & 0xffff'ffffU);
      const auto generation = static_cast<std::uint32_t>(data >> 32);
      const std::lock_guard lock{mutex_};
      const auto found = watched_.find(fd);
      if (found != watched_.end() && found->second.generation == generation) found->second.stop.request_stop();
    }
  }
}

}  // namespace agg::server
