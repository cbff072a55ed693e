#include "bench/flood_run.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "aggregator/io/unique_fd.hpp"
#include "tests/support/response_reader.hpp"

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

/// What one connection of the flood does.
enum class role { idle, drip, slow, pipelined };

/// One connection of the flood.
struct flood_connection {
  io::unique_fd fd;
  role does = role::idle;
  bool connected = false;
  std::size_t sent = 0;     // drip: bytes of the head dripped so far
  std::size_t pending = 0;  // pipelined: answers still to read
  std::string unread;       // pipelined: what was read of an answer not whole yet
};

/// `count` copies of a request for `target` on a kept-alive connection.
std::string requests(std::string_view target, std::size_t count) {
  std::string one = "GET " + std::string{target} + " HTTP/1.1\r\nHost: flood\r\n\r\n";
  std::string all;
  all.reserve(one.size() * count);
  for (std::size_t i = 0; i < count; ++i) all += one;
  return all;
}

/// Sends what it can of `bytes` without blocking; the rest is dropped (a flood is not a client).
void send_some(int fd, const std::string &bytes) {
  [[maybe_unused]] const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/// The whole responses in `unread` (what was read and not yet counted) with `bytes` appended
/// (Boost.Beast's parser); what is left of a response cut by this read stays in `unread`.
std::size_t answers_in(std::string &unread, const char *bytes, std::size_t size) {
  unread.append(bytes, size);
  std::size_t count = 0;
  std::size_t used = 0;
  for (;;) {
    const std::size_t took = testing::read_response_at(std::string_view{unread}.substr(used)).used;
    if (took == 0) break;
    used += took;
    ++count;
  }
  unread.erase(0, used);
  return count;
}

}  // namespace

flood::flood(flood_settings settings) : settings_(std::move(settings)), thread_([this] { run(); }) {
  for (std::size_t i = 0; i < settings_.storm; ++i) storm_.emplace_back([this] { storm(); });
}

flood::~flood() {
  running_.store(false);
  thread_.join();
  for (auto &t : storm_) t.join();
}

void flood::storm() {
  const sockaddr_in addr = address_of(settings_.host, settings_.port);
  for (bool reset = false; running_.load(); reset = !reset) {
    const io::unique_fd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (fd.get() < 0) continue;
    if (::connect(fd.get(), reinterpret_cast<const sockaddr *>(&addr), sizeof addr) != 0) continue;
    if (reset) {  // an abortive close: RST instead of FIN, as a crashed client's
      const linger abort{1, 0};
      ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    }
    stormed_.fetch_add(1, std::memory_order_relaxed);
  }
}

/// The connections a flood keeps open, on one epoll set: each reopened when the server closes it.
class flood::connection_set {
 public:
  connection_set(flood &owner, const flood_settings &settings)
      : owner_(owner),
        settings_(settings),
        addr_(address_of(settings.host, settings.port)),
        events_(io::unique_fd::checked(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1")),
        slow_burst_(requests(settings.slow_target, settings.slow_requests)),
        pipeline_burst_(requests("/health", settings.pipeline_depth)),
        connections_(owner.size()) {
    for (std::size_t i = 0; i < connections_.size(); ++i) open_one(i);
  }

  /// One round: what the sockets say, the drip's next bytes, and new connections for failed ones.
  void round() {
    const int n = ::epoll_wait(events_.get(), ready_.data(), static_cast<int>(ready_.size()), 50);
    for (int k = 0; k < n; ++k) {
      const epoll_event &event = ready_[static_cast<std::size_t>(k)];
      on_ready(event.data.u64, event.events);
    }
    if (clock::now() >= next_drip_) {
      next_drip_ += settings_.drip_interval;
      for (auto &c : connections_) {
        if (c.does != role::drip || !c.connected) continue;
        const char byte = c.sent < dripped_head.size() ? dripped_head[c.sent] : 'x';
        if (::send(c.fd.get(), &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) ++c.sent;
      }
    }
    for (std::size_t i = 0; i < connections_.size(); ++i)
      if (connections_[i].fd.get() < 0) open_one(i);  // retry what could not be opened
  }

 private:
  [[nodiscard]] role role_of(std::size_t i) const noexcept {
    if (i < settings_.idle) return role::idle;
    if (i < settings_.idle + settings_.drip) return role::drip;
    if (i < settings_.idle + settings_.drip + settings_.slow) return role::slow;
    return role::pipelined;
  }

  void watch(std::size_t i, std::uint32_t what, int op) {
    epoll_event ev{};
    ev.events = what;
    ev.data.u64 = i;
    ::epoll_ctl(events_.get(), op, connections_[i].fd.get(), &ev);
  }

  void open_one(std::size_t i) {
    flood_connection &c = connections_[i];
    c = flood_connection{io::unique_fd{::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)}, role_of(i)};
    if (c.fd.get() < 0) return;
    if (c.does == role::slow) {  // a small window: the server's answers back up at once
      const int small = 4096;
      ::setsockopt(c.fd.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    }
    if (::connect(c.fd.get(), reinterpret_cast<const sockaddr *>(&addr_), sizeof addr_) != 0 && errno != EINPROGRESS) {
      c.fd = io::unique_fd{};
      return;
    }
    watch(i, EPOLLOUT | EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD);
  }

  void on_ready(std::size_t i, std::uint32_t got) {
    flood_connection &c = connections_[i];
    bool gone = (got & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
    if (!gone && (got & EPOLLIN) != 0) gone = !read_from(c);
    if (gone) {
      // The server closed it: open another in its place.
      if (c.connected) {
        owner_.open_.fetch_sub(1, std::memory_order_relaxed);
        owner_.closed_.fetch_add(1, std::memory_order_relaxed);
      }
      c.fd = io::unique_fd{};
      return open_one(i);
    }
    if ((got & EPOLLOUT) == 0 || c.connected) return;
    c.connected = true;
    owner_.open_.fetch_add(1, std::memory_order_relaxed);
    // A slow reader sends its requests once and reads nothing: it hears only of the close.
    if (c.does == role::slow) send_some(c.fd.get(), slow_burst_);
    if (c.does == role::pipelined) {
      c.pending = settings_.pipeline_depth;
      send_some(c.fd.get(), pipeline_burst_);
    }
    watch(i, c.does == role::slow ? EPOLLRDHUP : EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
  }

  /// Reads what the server sent; false when that means the connection is being closed (an answer to
  /// an idle or dripping connection is its refusal).
  bool read_from(flood_connection &c) {
    const ssize_t read = ::recv(c.fd.get(), buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    if (c.does != role::pipelined || read <= 0) return false;
    const std::size_t answered = answers_in(c.unread, buffer_.data(), static_cast<std::size_t>(read));
    owner_.answers_.fetch_add(answered, std::memory_order_relaxed);
    c.pending -= std::min(c.pending, answered);
    if (c.pending == 0) {
      c.pending = settings_.pipeline_depth;
      send_some(c.fd.get(), pipeline_burst_);
    }
    return true;
  }

  flood &owner_;
  const flood_settings &settings_;
  const sockaddr_in addr_;
  const io::unique_fd events_;
  const std::string slow_burst_;
  const std::string pipeline_burst_;
  std::vector<flood_connection> connections_;
  std::vector<epoll_event> ready_ = std::vector<epoll_event>(1024);
  std::array<char, 65536> buffer_{};
  clock::time_point next_drip_ = clock::now() + settings_.drip_interval;
};

void flood::run() {
  connection_set connections{*this, settings_};
  while (running_.load()) connections.round();
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
