#include "aggregator/front/data_plane.hpp"

#include "aggregator/front/loop_front.hpp"

namespace agg::front {

data_plane::data_plane(const config::server_config &server, client::upstream_client &loops,
                       const filters::filter_chain &chain, runtime::admission &aggregations,
                       runtime::unsent_bytes &unsent, const runtime::service_log &log)
    : server_(server),
      loops_(loops),
      chain_(chain),
      aggregations_(aggregations),
      unsent_(unsent),
      log_(log),
      tls_(server.tls ? std::make_unique<server_tls>(*server.tls, server.http2.enabled) : nullptr) {}

data_plane::~data_plane() {
  // First no loop accepts (so none hands a connection over any more), then each closes its own.
  for (const auto &front : fronts_) {
    loop_front &f = *front;
    if (!f.events().call([&f] { f.stop_accepting(); })) f.stop_accepting();  // the loop stopped already
  }
  for (const auto &front : fronts_) {
    loop_front &f = *front;
    if (!f.events().call([&f] { f.detach(); })) f.detach();
  }
}

std::uint16_t data_plane::bind() {
  socket_.emplace(server_.host, server_.port, server_.backlog);
  return socket_->port();
}

void data_plane::start() {
  // Every loop front exists before any accepts: a loop hands connections to the others.
  for (std::size_t i = 0; i < loops_.loop_count(); ++i)
    fronts_.push_back(std::make_unique<loop_front>(*this, loops_.loop(i)));
  const int fd = socket_->fd();
  for (const auto &front : fronts_) {
    loop_front &f = *front;
    f.events().call([&f, fd] { f.attach(fd); });
  }
}

void data_plane::on_each_loop(void (loop_front::*what)()) {
  for (const auto &front : fronts_) {
    loop_front &f = *front;
    f.events().call([&f, what] { (f.*what)(); });
  }
}

bool data_plane::admit_connection() noexcept {
  if (open_.fetch_add(1, std::memory_order_relaxed) < server_.max_connections) return true;
  release_connection();
  return false;
}

void data_plane::release_connection() noexcept {
  if (open_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  const std::lock_guard lock{closed_mutex_};
  closed_.notify_all();
}

void data_plane::wait_closed(std::chrono::steady_clock::time_point until) {
  std::unique_lock lock{closed_mutex_};
  closed_.wait_until(lock, until, [this] { return open_connections() == 0; });
}

loop_front &data_plane::least_loaded(loop_front &accepting) noexcept {
  loop_front *best = &accepting;
  for (const auto &front : fronts_)
    if (front->load() + 1 < best->load()) best = front.get();  // ties stay: no hand-off for nothing
  return *best;
}

loop_front *data_plane::next_after(const loop_front &front) noexcept {
  for (std::size_t i = 0; i < fronts_.size(); ++i)
    if (fronts_[i].get() == &front) return fronts_[(i + 1) % fronts_.size()].get();
  return nullptr;
}

bool data_plane::shut_down(std::chrono::milliseconds grace) {
  using clock = std::chrono::steady_clock;
  on_each_loop(&loop_front::stop_accepting);
  if (socket_) socket_->shut_down();
  aggregations_.begin_shutdown();
  on_each_loop(&loop_front::drain);
  const bool clean = aggregations_.wait_idle(clock::now() + grace);
  if (!clean) {
    log_.event(
        config::log_config::level::warn,
        "grace period over: cancelling " + std::to_string(aggregations_.in_flight()) + " aggregations still in flight");
    aggregations_.cancel_all();
    // Cancelled ones end at once; the sync ones within about a second.
    static_cast<void>(aggregations_.wait_idle(clock::now() + std::chrono::seconds{5}));
  }
  // Their answers are on their way: let the connections that carry them close.
  wait_closed(clock::now() + std::chrono::seconds{2});
  return clean;
}

}  // namespace agg::front
