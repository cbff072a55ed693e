#include "aggregator/front/data_plane.hpp"

#include <thread>

#include "aggregator/front/loop_front.hpp"

namespace agg::front {

data_plane::data_plane(runtime::engine &engine) : engine_(engine) {}

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
  const auto &server = engine_.config.server;
  socket_.emplace(server.host, server.port, server.backlog);
  return socket_->port();
}

void data_plane::start() {
  // Every loop front exists before any accepts: a loop hands connections to the others.
  for (std::size_t i = 0; i < engine_.client.loop_count(); ++i)
    fronts_.push_back(std::make_unique<loop_front>(*this, engine_.client.loop(i)));
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
  if (open_.fetch_add(1, std::memory_order_relaxed) < engine_.config.server.max_connections) return true;
  open_.fetch_sub(1, std::memory_order_relaxed);
  refused_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

loop_front &data_plane::least_loaded(loop_front &accepting) noexcept {
  loop_front *best = &accepting;
  for (const auto &front : fronts_)
    if (front->load() + 1 < best->load()) best = front.get();  // ties stay: no hand-off for nothing
  return *best;
}

bool data_plane::shut_down(std::chrono::milliseconds grace) {
  using clock = std::chrono::steady_clock;
  on_each_loop(&loop_front::stop_accepting);
  if (socket_) socket_->shut_down();
  engine_.aggregations.begin_shutdown();
  on_each_loop(&loop_front::drain);
  const auto wait_until_idle = [this](clock::time_point until) {
    while (engine_.aggregations.in_flight() > 0 && clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    return engine_.aggregations.in_flight() == 0;
  };
  const bool clean = wait_until_idle(clock::now() + grace);
  if (!clean) {
    engine_.log.event(config::log_config::level::warn, "grace period over: cancelling " +
                                                           std::to_string(engine_.aggregations.in_flight()) +
                                                           " aggregations still in flight");
    engine_.aggregations.cancel_all();
    wait_until_idle(clock::now() + std::chrono::seconds{5});  // cancelled ones end at once; the sync ones within ~1 s
  }
  // Their answers are on their way: let the connections that carry them close.
  const auto flushed_by = clock::now() + std::chrono::seconds{2};
  while (open_connections() > 0 && clock::now() < flushed_by) std::this_thread::sleep_for(std::chrono::milliseconds{5});
  return clean;
}

}  // namespace agg::front
