#include "bench/flood_run.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "aggregator/io/unique_fd.hpp"

namespace agg::bench {

namespace {

using clock = std::chrono::steady_clock;

/// The head a dripping connection sends, a byte at a time; it never finishes.
constexpr std::string_view dripped_head = "GET /health HTTP/1.1\r\nHost: flood\r\nX-Drip: ";

sockaddr_in address_of(const std::string &host, std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
    throw std::invalid_argument("not an IPv4 address: " + host);
  return addr;
}

/// One connection of the flood.
struct flood_connection {
  io::unique_fd fd;
  bool drips = false;
  bool connected = false;
  std::size_t sent = 0;  // bytes of the head dripped so far
};

}  // namespace

flood::flood(flood_settings settings) : settings_(std::move(settings)), thread_([this] { run(); }) {}

flood::~flood() {
  running_.store(false);
  thread_.join();
}

void flood::run() {
  const sockaddr_in addr = address_of(settings_.host, settings_.port);
  const io::unique_fd events = io::unique_fd::checked(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1");
  std::vector<flood_connection> connections(settings_.idle + settings_.drip);
  const auto open_one = [&](std::size_t i) {
    flood_connection &c = connections[i];
    c = flood_connection{io::unique_fd{::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)},
                         i >= settings_.idle, false, 0};
    if (c.fd.get() < 0) return;
    if (::connect(c.fd.get(), reinterpret_cast<const sockaddr *>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
      c.fd = io::unique_fd{};
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = i;
    ::epoll_ctl(events.get(), EPOLL_CTL_ADD, c.fd.get(), &ev);
  };
  for (std::size_t i = 0; i < connections.size(); ++i) open_one(i);

  std::vector<epoll_event> ready(1024);
  auto next_drip = clock::now() + settings_.drip_interval;
  while (running_.load()) {
    const int n = ::epoll_wait(events.get(), ready.data(), static_cast<int>(ready.size()), 50);
    for (int k = 0; k < n; ++k) {
      const std::size_t i = ready[static_cast<std::size_t>(k)].data.u64;
      flood_connection &c = connections[i];
      const std::uint32_t got = ready[static_cast<std::size_t>(k)].events;
      if ((got & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
        // The server closed it (or answered, which means closing too): open another in its place.
        if (c.connected) {
          open_.fetch_sub(1, std::memory_order_relaxed);
          closed_.fetch_add(1, std::memory_order_relaxed);
        }
        c.fd = io::unique_fd{};
        open_one(i);
        continue;
      }
      if ((got & EPOLLOUT) != 0 && !c.connected) {
        c.connected = true;
        open_.fetch_add(1, std::memory_order_relaxed);
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.u64 = i;
        ::epoll_ctl(events.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
      }
    }
    if (clock::now() >= next_drip) {
      next_drip += settings_.drip_interval;
      for (auto &c : connections) {
        if (!c.drips || !c.connected) continue;
        const char byte = c.sent < dripped_head.size() ? dripped_head[c.sent] : 'x';
        if (::send(c.fd.get(), &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) ++c.sent;
      }
    }
    for (std::size_t i = 0; i < connections.size(); ++i)
      if (connections[i].fd.get() < 0) open_one(i);  // retry what could not be opened
  }
}

double probe_result::percentile(double p) const {
  if (latencies_s.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(latencies_s.size())));
  return latencies_s[std::min(latencies_s.size() - 1, rank == 0 ? 0 : rank - 1)];
}

probe_result probe(const std::string &host, std::uint16_t port, const std::string &path,
                   std::chrono::milliseconds duration, std::chrono::milliseconds interval) {
  const sockaddr_in addr = address_of(host, port);
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n";
  probe_result result;
  const auto until = clock::now() + duration;
  for (auto next = clock::now(); next < until; next += interval) {
    std::this_thread::sleep_until(next);
    const auto sent = clock::now();
    const io::unique_fd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    timeval bound{2, 0};  // a probe that takes this long has failed
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound);
    std::string reply;
    if (::connect(fd.get(), reinterpret_cast<const sockaddr *>(&addr), sizeof addr) == 0 &&
        ::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      char buffer[1024];
      ssize_t n = 0;
      while ((n = ::recv(fd.get(), buffer, sizeof buffer, 0)) > 0) reply.append(buffer, static_cast<std::size_t>(n));
    }
    if (reply.starts_with("HTTP/1.1 200"))
      result.latencies_s.push_back(std::chrono::duration<double>(clock::now() - sent).count());
    else
      ++result.failures;
  }
  std::sort(result.latencies_s.begin(), result.latencies_s.end());
  return result;
}

}  // namespace agg::bench
