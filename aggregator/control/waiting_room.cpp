#include "aggregator/control/waiting_room.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <iterator>
#include <vector>

#include "aggregator/io/peer_address.hpp"

namespace agg::control {

waiting_room::waiting_room(std::size_t capacity, std::function<void(int fd)> on_ready)
    : capacity_(std::max<std::size_t>(capacity, 1)),
      on_ready_(std::move(on_ready)),
      epoll_(io::unique_fd::checked(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1")),
      wake_(io::unique_fd::checked(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd")) {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = wake_.get();
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &event) != 0) std::perror("aggregator: epoll_ctl");
  thread_ = std::thread{[this] { run(); }};
}

waiting_room::~waiting_room() { stop(); }

void waiting_room::forget(int fd) {
  const auto found = parked_.find(fd);
  deadlines_.erase(found->second);
  parked_.erase(found);
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

void waiting_room::park(int fd, std::chrono::milliseconds timeout) {
  const std::lock_guard lock{mutex_};
  if (stopped_) {
    ::close(fd);
    return;
  }
  if (parked_.size() >= capacity_) {
    // The one nearest its time makes room, unless it has asked already: one that has is about to be
    // served, and closing it unread would reset it. With none among the first few, `fd` is closed.
    int victim = -1;
    for (auto it = deadlines_.begin(); it != deadlines_.end() && std::distance(deadlines_.begin(), it) < 8; ++it)
      if (!io::has_unread_bytes(it->second)) {
        victim = it->second;
        break;
      }
    if (victim < 0) {
      ::close(fd);
      ++refused_;
      return;
    }
    forget(victim);
    ::close(victim);
    ++evicted_;
  }
  const auto deadline = clock::now() + timeout;
  // The room's thread sleeps until the earliest deadline: it needs waking only for an earlier one
  // (not for each of a flood of new connections, whose deadlines all come after the others').
  const bool earliest = deadlines_.empty() || deadline < deadlines_.begin()->first;
  parked_.emplace(fd, deadlines_.emplace(deadline, fd));
  epoll_event event{};
  event.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
  event.data.fd = fd;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
    forget(fd);
    ::close(fd);
    return;
  }
  const std::uint64_t one = 1;
  if (earliest && ::write(wake_.get(), &one, sizeof one) < 0) std::perror("aggregator: eventfd write");
}

void waiting_room::stop() {
  {
    const std::lock_guard lock{mutex_};
    if (stopped_) return;
    stopped_ = true;
  }
  const std::uint64_t one = 1;
  if (::write(wake_.get(), &one, sizeof one) < 0) std::perror("aggregator: eventfd write");
  if (thread_.joinable()) thread_.join();
  const std::lock_guard lock{mutex_};
  while (!parked_.empty()) {
    const int fd = parked_.begin()->first;
    forget(fd);
    ::close(fd);
  }
}

std::size_t waiting_room::waiting() const {
  const std::lock_guard lock{mutex_};
  return parked_.size();
}

std::uint64_t waiting_room::evicted() const {
  const std::lock_guard lock{mutex_};
  return evicted_;
}

std::uint64_t waiting_room::refused() const {
  const std::lock_guard lock{mutex_};
  return refused_;
}

void waiting_room::run() {
  std::array<epoll_event, 64> events{};
  std::vector<int> ready;
  for (;;) {
    int timeout_ms = -1;
    {
      const std::lock_guard lock{mutex_};
      if (stopped_) return;
      if (!deadlines_.empty())
        timeout_ms = static_cast<int>(std::max<long long>(
            0, std::chrono::ceil<std::chrono::milliseconds>(deadlines_.begin()->first - clock::now()).count()));
    }
    const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0 && errno != EINTR) std::perror("aggregator: epoll_wait");
    ready.clear();
    {
      const std::lock_guard lock{mutex_};
      for (int i = 0; i < n; ++i) {
        const int fd = events[static_cast<std::size_t>(i)].data.fd;
        if (fd == wake_.get()) {
          std::uint64_t drained = 0;
          static_cast<void>(::read(wake_.get(), &drained, sizeof drained));
        } else if (parked_.contains(fd)) {
          forget(fd);
          ready.push_back(fd);
        }
      }
      for (auto due = deadlines_.begin(); due != deadlines_.end() && due->first <= clock::now();
           due = deadlines_.begin()) {
        const int fd = due->second;
        forget(fd);
        ::close(fd);  // its first byte never came
      }
    }
    for (const int fd : ready) on_ready_(fd);  // outside the lock: it may park others
  }
}

}  // namespace agg::control
