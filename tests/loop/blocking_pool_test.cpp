#include "aggregator/loop/blocking_pool.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "aggregator/coro/detached.hpp"
#include "aggregator/loop/event_loop.hpp"
#include "tests/support/eventually.hpp"

using agg::loop::blocking_pool;
using agg::loop::event_loop;
using agg::testing::eventually;

namespace {

/// Where a coroutine handed work to the pool: what came back, and on which thread it resumed.
struct outcome {
  std::atomic<bool> done{false};
  std::optional<int> value;
  std::thread::id resumed_on;
};

/// A latch the pool's work waits on, so a test decides when it ends.
struct gate {
  std::mutex mutex;
  std::condition_variable opened_cv;
  bool opened = false;
  void wait() {
    std::unique_lock lock{mutex};
    opened_cv.wait(lock, [this] { return opened; });
  }
  void open() {
    const std::lock_guard lock{mutex};
    opened = true;
    opened_cv.notify_all();
  }
};

agg::coro::detached hand_over(blocking_pool *pool, event_loop *loop, gate *held, int value, outcome *out) {
  const auto work = [held, value] {
    if (held != nullptr) held->wait();
    return value * 2;
  };
  out->value = co_await pool->run(*loop, work);
  out->resumed_on = std::this_thread::get_id();
  out->done = true;
}

}  // namespace

TEST_CASE("work runs on a pool thread and the coroutine resumes on its loop with the result") {
  event_loop loop;
  loop.start();
  std::thread::id loop_thread;
  REQUIRE(loop.call([&] { loop_thread = std::this_thread::get_id(); }));
  blocking_pool pool{2, 4};
  outcome out;
  REQUIRE(loop.call([&] { hand_over(&pool, &loop, nullptr, 21, &out); }));
  REQUIRE(eventually([&] { return out.done.load(); }));
  CHECK(out.value == 42);
  CHECK(out.resumed_on == loop_thread);
}

TEST_CASE("past its threads and its queue the pool refuses at once") {
  event_loop loop;
  loop.start();
  blocking_pool pool{1, 1};
  gate held;
  std::vector<outcome> outs(3);
  REQUIRE(loop.call([&] {
    for (int i = 0; i < 3; ++i) hand_over(&pool, &loop, &held, i, &outs[static_cast<std::size_t>(i)]);
  }));
  REQUIRE(eventually([&] { return outs[2].done.load(); }));  // refused without waiting for the others
  CHECK_FALSE(outs[2].value);
  CHECK_FALSE(outs[0].done);
  held.open();
  REQUIRE(eventually([&] { return outs[0].done.load() && outs[1].done.load(); }));
  CHECK(outs[0].value == 0);
  CHECK(outs[1].value == 2);
}
