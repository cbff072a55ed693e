#include "aggregator/client/curl_sockets.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <utility>

namespace agg::client {

void curl_sockets::socket::on_events(std::uint32_t events) {
  if (retired) return;  // closed or replaced since the batch was read
  // Idle in curl's pool and readable (the upstream closed it) or failed: level-triggered epoll
  // would report it every round. Forget it until curl wants it again; curl finds it dead on reuse.
  if (wanted == 0) return table->set_aside(*this);
  table->ready_(*this, events);
}

curl_sockets::socket &curl_sockets::born(int fd) {
  const auto index = static_cast<std::size_t>(fd);
  if (index >= by_number_.size()) by_number_.resize(std::max(index + 1, by_number_.size() * 2));
  auto &slot = by_number_[index];
  if (slot) retire(slot);
  slot = std::make_unique<socket>();
  slot->table = this;
  slot->fd = fd;
  struct stat identity {};
  if (::fstat(fd, &identity) == 0) {
    slot->device = identity.st_dev;
    slot->inode = identity.st_ino;
  }
  return *slot;
}

curl_sockets::socket &curl_sockets::at(int fd) {
  const auto index = static_cast<std::size_t>(fd);
  if (index < by_number_.size() && by_number_[index]) return *by_number_[index];
  return born(fd);
}

void curl_sockets::want(socket &s, std::uint32_t events) {
  s.wanted = events;
  if (events == 0 || s.registered == events) return;  // CURL_POLL_REMOVE: stays registered
  const std::uint32_t was = std::exchange(s.registered, 0);
  if (was == 0)
    events_.watch(s.fd, events, s);
  else
    events_.rewatch(s.fd, events, s);
  s.registered = events;
}

void curl_sockets::set_aside(socket &s) noexcept {
  if (s.registered != 0 && still_named(s)) events_.unwatch(s.fd);
  s.registered = 0;
}

void curl_sockets::closing(int fd) noexcept {
  const auto index = static_cast<std::size_t>(fd);
  if (index >= by_number_.size() || !by_number_[index]) return;
  auto &slot = by_number_[index];
  if (slot->registered != 0) events_.unwatch(fd);  // still open: the number is its own
  retire(slot);
}

void curl_sockets::retire(std::unique_ptr<socket> &slot) noexcept {
  slot->retired = true;
  slot->registered = 0;
  slot->wanted = 0;
  retired_.push_back(std::move(slot));
}

bool curl_sockets::still_named(const socket &s) noexcept {
  struct stat now {};
  return ::fstat(s.fd, &now) == 0 && now.st_dev == s.device && now.st_ino == s.inode;
}

}  // namespace agg::client
