#include "aggregator/loop/event_loop.hpp"

#include <catch2/catch.hpp>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "aggregator/coro/sync_wait.hpp"
#include "aggregator/coro/task.hpp"
#include "aggregator/io/unique_fd.hpp"

using agg::loop::event_loop;

namespace {

agg::coro::task<std::thread::id> hop(event_loop &loop) {
  co_await loop.schedule();
  co_return std::this_thread::get_id();
}

/// Counts rounds and the stop.
struct counting_hooks final : agg::loop::loop_hooks {
  std::atomic<int> rounds{0};
  std::atomic<bool> stopped{false};
  [[nodiscard]] std::optional<agg::loop::clock::time_point> next_deadline() const override { return std::nullopt; }
  void on_round(agg::loop::clock::time_point) override { ++rounds; }
  void on_stop() override { stopped = true; }
};

/// Records what it saw of one descriptor.
struct recording_handler final : agg::loop::io_handler {
  std::atomic<std::uint32_t> seen{0};
  void on_events(std::uint32_t events) override { seen |= events; }
};

}  // namespace

TEST_CASE("a coroutine scheduled on the loop resumes on the loop's thread") {
  event_loop loop;
  loop.start();
  const auto there = agg::coro::sync_wait(hop(loop));
  CHECK(there != std::this_thread::get_id());
  std::thread::id inside;
  REQUIRE(loop.call([&] { inside = std::this_thread::get_id(); }));
  CHECK(there == inside);
}

TEST_CASE("work posted from the loop itself runs later in the same round, in order") {
  event_loop loop;
  loop.start();
  std::vector<int> order;
  REQUIRE(loop.call([&] {
    loop.post([&] { order.push_back(2); });
    loop.post([&] { order.push_back(3); });
    order.push_back(1);  // nothing posted has run yet: the caller finishes first
  }));
  REQUIRE(loop.call([] {}));
  CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("a watched descriptor's readiness reaches its handler on the loop") {
  event_loop loop;
  loop.start();
  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair) == 0);
  const agg::io::unique_fd near{pair[0]}, far{pair[1]};
  recording_handler handler;
  REQUIRE(loop.call([&] { loop.watch(near.get(), EPOLLIN, handler); }));
  REQUIRE(::write(far.get(), "x", 1) == 1);
  while ((handler.seen.load() & EPOLLIN) == 0) std::this_thread::yield();
  REQUIRE(loop.call([&] { loop.unwatch(near.get()); }));
}

TEST_CASE("stopping runs what was posted, calls each part's on_stop, then refuses posts") {
  counting_hooks hooks;
  std::atomic<bool> ran{false};
  {
    event_loop loop;
    loop.add_hooks(hooks);
    loop.start();
    REQUIRE(loop.call([] {}));
    REQUIRE(loop.call([] {}));  // the first call's round has ended by the time the second runs
    CHECK(hooks.rounds.load() > 0);
    loop.post([&] { ran = true; });
    loop.stop();
    CHECK_FALSE(loop.running());
    CHECK_FALSE(loop.post([] {}));
    CHECK_FALSE(loop.call([] {}));
  }
  CHECK(ran);
  CHECK(hooks.stopped);
}

namespace {

using wake_reason = event_loop::wake_reason;

/// Waits on the loop under `id` and says why it woke; `parking` turns true just before it parks.
agg::coro::task<wake_reason> park(event_loop &loop, std::uint64_t id, agg::loop::clock::time_point until,
                                  std::stop_token stop = {}, std::atomic<bool> *parking = nullptr) {
  co_await loop.schedule();
  auto wait = loop.wait(id, until, std::move(stop));
  if (parking != nullptr) parking->store(true);  // the loop thread parks it before it looks at anything else
  co_return co_await wait;
}

}  // namespace

TEST_CASE("a waiter wakes when its time comes") {
  event_loop loop;
  loop.start();
  const auto asked = agg::loop::clock::now();
  const auto woke = agg::coro::sync_wait(park(loop, 1, asked + std::chrono::milliseconds{5}));
  CHECK(woke == wake_reason::time);
  CHECK(agg::loop::clock::now() - asked >= std::chrono::milliseconds{5});
}

TEST_CASE("wake() resumes a parked waiter and says so, a second wake finds nobody") {
  event_loop loop;
  loop.start();
  std::uint64_t id = 0;
  REQUIRE(loop.call([&] { id = loop.new_waiter_id(); }));
  std::atomic<bool> parking{false};
  std::atomic<bool> woken{false};
  std::atomic<bool> woken_twice{true};
  std::thread waker{[&] {
    while (!parking.load()) std::this_thread::yield();
    static_cast<void>(loop.call([&] {  // wake() is for the loop thread
      woken = loop.wake(id);
      woken_twice = loop.wake(id);  // taken out of the books at once, resumed later in the round
    }));
  }};
  CHECK(agg::coro::sync_wait(park(loop, id, agg::loop::clock::time_point::max(), {}, &parking)) == wake_reason::signal);
  waker.join();
  CHECK(woken);
  CHECK_FALSE(woken_twice);
}

TEST_CASE("a stop request wakes a waiter from any thread, and an already stopped token at once") {
  event_loop loop;
  loop.start();
  std::stop_source stop;
  std::atomic<bool> parking{false};
  std::thread stopper{[&] {
    while (!parking.load()) std::this_thread::yield();
    stop.request_stop();
  }};
  CHECK(agg::coro::sync_wait(park(loop, 7, agg::loop::clock::time_point::max(), stop.get_token(), &parking)) ==
        wake_reason::stop);
  stopper.join();
  CHECK(agg::coro::sync_wait(park(loop, 8, agg::loop::clock::time_point::max(), stop.get_token())) ==
        wake_reason::stop);
}

TEST_CASE("stopping the loop wakes every waiter as stopped") {
  event_loop loop;
  loop.start();
  std::atomic<bool> parking{false};
  std::thread stopper{[&] {
    while (!parking.load()) std::this_thread::yield();
    loop.stop();
  }};
  CHECK(agg::coro::sync_wait(park(loop, 3, agg::loop::clock::time_point::max(), {}, &parking)) == wake_reason::stop);
  stopper.join();
}
