#include "aggregator/front/loop_front.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <vector>

#include "aggregator/filters/filter_chain.hpp"
#include "aggregator/front/connection.hpp"
#include "aggregator/front/data_plane.hpp"

namespace agg::front {

namespace {

using clock = loop::clock;

/// Connections accepted per readiness event before the loop serves the others.
constexpr int accepts_per_event = 64;
/// Deadlines handled per round: ten thousand connections that time out together are closed in
/// batches, with the other connections' events served between them, not in one long stall.
constexpr int expiries_per_round = 256;
/// How often a connection past the cap goes on to the next loop to find one to evict: loops that
/// were just handed connections may hold none they have opened yet.
constexpr int max_hand_over_hops = 4;
/// How long accepting pauses when the process is out of descriptors.
constexpr std::chrono::milliseconds accept_pause{100};

http::request_limits limits_of(const config::server_config &server) {
  http::request_limits limits;
  limits.request_timeout = server.request_timeout;
  return limits;
}

}  // namespace

/// The listening socket's handler on this loop.
class loop_front::acceptor final : public loop::io_handler {
 public:
  explicit acceptor(loop_front &front) noexcept : front_(front) {}
  void on_events(std::uint32_t) override { front_.accept_ready(); }

 private:
  loop_front &front_;
};

loop_front::loop_front(data_plane &plane, client::upstream_loop &upstream)
    : handshake_deadlines(plane.server().tls ? plane.server().tls->handshake_timeout : plane.server().request_timeout),
      fresh_deadlines(plane.server().request_timeout),
      request_deadlines(plane.server().request_timeout),
      idle_deadlines(plane.server().keep_alive_timeout),
      send_deadlines(plane.server().send_timeout),
      linger_deadlines(std::chrono::seconds{2}),
      plane_(plane),
      upstream_(upstream),
      limits_(limits_of(plane.server())),
      scratch_(std::make_unique<std::array<char, 64 * 1024>>()),
      acceptor_(std::make_unique<acceptor>(*this)) {}

loop_front::~loop_front() = default;

void loop_front::attach(int listen_fd) {
  listen_fd_ = listen_fd;
  events().add_hooks(*this);
  hooked_ = true;
  // EPOLLEXCLUSIVE: a new connection wakes one of the loops, not all of them.
  events().watch(listen_fd_, EPOLLIN | EPOLLEXCLUSIVE, *acceptor_);
  accepting_ = true;
}

void loop_front::stop_accepting() {
  if (accepting_) events().unwatch(listen_fd_);
  accepting_ = false;
  resume_accepting_at_.reset();
  listen_fd_ = -1;
}

void loop_front::drain() {
  draining_ = true;
  const std::vector<connection *> all(open_.begin(), open_.end());
  for (connection *c : all)
    if (open_.contains(c)) c->drain();  // one closing may not close another, but be sure
}

void loop_front::detach() {
  stop_accepting();
  close_all();
  if (hooked_) events().remove_hooks(*this);
  hooked_ = false;
}

void loop_front::close_all() {
  const std::vector<connection *> all(open_.begin(), open_.end());
  for (connection *c : all) c->close_now();
}

void loop_front::adopt(connection &c) { open_.insert(&c); }

void loop_front::forget(connection &c) noexcept {
  if (open_.erase(&c) == 0) return;
  load_.fetch_sub(1, std::memory_order_relaxed);
  plane_.release_connection();
}

void loop_front::hand_over(io::unique_fd socket, bool at_cap, int hops) {
  const int fd = socket.get();
  const bool posted = events().post([this, fd, at_cap, hops] {
    io::unique_fd owned{fd};
    if (at_cap) {
      // Counted in only once a connection of this loop that sent nothing made room for it.
      if (draining_) return plane_.count_refused();
      // What this loop holds may all be connections handed to it and not opened yet (they cannot
      // make room): then the next loop tries.
      if (!admit_by_evicting()) return pass_on(std::move(owned), hops);
      load_.fetch_add(1, std::memory_order_relaxed);
    } else if (!accepting_ && draining_) {
      return forget_unopened();
    }
    std::make_shared<connection>(*this, std::move(owned))->start();
  });
  if (posted) {
    static_cast<void>(socket.release());  // the posted work owns it now
  } else if (at_cap) {
    plane_.count_refused();
  } else {
    forget_unopened();  // `socket` closes it
  }
}

void loop_front::forget_unopened() noexcept {
  load_.fetch_sub(1, std::memory_order_relaxed);
  plane_.release_connection();
}

void loop_front::dispatch(std::shared_ptr<filters::responder> to, filters::request_context request,
                          connection &client) {
  try {
    plane_.chain().serve(filters::exchange{plane_.chain(), std::move(to), std::move(request), &upstream_});
  } catch (const std::exception &e) {
    // Out of memory, or a bug: the request is lost (it was moved along), its connection closed; the
    // loop and every other connection go on.
    plane_.log().event(config::log_config::level::error, std::string{"serving a request failed: "} + e.what());
    client.close_now();
  }
}

void loop_front::refuse(std::shared_ptr<filters::responder> to, filters::request_context request,
                        const http::refusal &why) {
  plane_.chain().refuse(filters::exchange{plane_.chain(), std::move(to), std::move(request), &upstream_}, why);
}

void loop_front::accept_ready() {
  for (int i = 0; i < accepts_per_event && accepting_; ++i) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors: stop listening for a moment instead of waking on the same connection
        // every round. The cap (server.max_connections) is meant to keep this from happening.
        std::fprintf(stderr, "aggregator: accept: %s; pausing for %lld ms\n", std::strerror(errno),
                     static_cast<long long>(accept_pause.count()));
        events().unwatch(listen_fd_);
        accepting_ = false;
        resume_accepting_at_ = clock::now() + accept_pause;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
        std::fprintf(stderr, "aggregator: accept: %s\n", std::strerror(errno));
      }
      return;
    }
    io::unique_fd socket{fd};
    // At the cap the oldest connection that has not sent a byte makes room (Envoy's overload manager
    // closes idle ones too): one of this loop's, else another loop takes the new one and makes room
    // among its own; with none anywhere, the new one is closed and the others keep being served.
    if (!plane_.admit_connection() && !admit_by_evicting()) {
      pass_on(std::move(socket), 0);
      continue;
    }
    const int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);  // streamed chunks leave at once
    // Whichever loop the kernel woke, the connection goes to the least loaded one: a burst of
    // connections would otherwise all land on the first loop awake. Its requests then never leave
    // that loop.
    loop_front &target = plane_.least_loaded(*this);
    target.load_.fetch_add(1, std::memory_order_relaxed);
    if (&target == this)
      std::make_shared<connection>(*this, std::move(socket))->start();
    else
      target.hand_over(std::move(socket));
  }
}

bool loop_front::evict_idle() {
  // The oldest of the first few that really sent nothing (on TLS: that sent no request, their
  // handshake unfinished or done): bytes waiting unread are a request (a probe, say) or a
  // handshake this round is about to read.
  for (const loop::deadline_list *list : {&handshake_deadlines, &fresh_deadlines}) {
    loop::deadline_link *candidate = list->oldest();
    for (int looked = 0; candidate != nullptr && looked < 8;
         ++looked, candidate = loop::deadline_list::after(*candidate)) {
      auto *c = static_cast<connection *>(candidate);
      if (c->has_unread_bytes()) continue;
      plane_.count_evicted();
      c->close_now();
      return true;
    }
  }
  return false;
}

void loop_front::pass_on(io::unique_fd socket, int hops) {
  loop_front *other = plane_.next_after(*this);
  if (hops >= max_hand_over_hops || other == nullptr || other == this) return plane_.count_refused();
  other->hand_over(std::move(socket), true, hops + 1);
}

bool loop_front::admit_by_evicting() {
  while (evict_idle())
    if (plane_.admit_connection()) return true;
  return false;
}

std::optional<clock::time_point> loop_front::next_deadline() const {
  std::optional<clock::time_point> earliest = resume_accepting_at_;
  for (const loop::deadline_list *list : {&handshake_deadlines, &fresh_deadlines, &request_deadlines, &idle_deadlines,
                                          &send_deadlines, &linger_deadlines})
    if (const auto due = list->next_due(); due && (!earliest || *due < *earliest)) earliest = due;
  return earliest;
}

void loop_front::on_round(clock::time_point now) {
  if (resume_accepting_at_ && *resume_accepting_at_ <= now && listen_fd_ >= 0) {
    resume_accepting_at_.reset();
    events().watch(listen_fd_, EPOLLIN | EPOLLEXCLUSIVE, *acceptor_);
    accepting_ = true;
  }
  int budget = expiries_per_round;
  for (loop::deadline_list *list : {&handshake_deadlines, &fresh_deadlines, &request_deadlines, &idle_deadlines,
                                    &send_deadlines, &linger_deadlines})
    while (budget > 0) {
      loop::deadline_link *due = list->pop_due(now);
      if (due == nullptr) break;
      static_cast<connection *>(due)->on_deadline();
      --budget;
    }
}

void loop_front::on_stop() { close_all(); }

}  // namespace agg::front
