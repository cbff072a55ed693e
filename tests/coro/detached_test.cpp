#include "aggregator/coro/detached.hpp"

#include <catch2/catch.hpp>

#include <coroutine>
#include <memory>

namespace {

struct parked {
  std::coroutine_handle<> *slot;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) const noexcept { *slot = h; }
  void await_resume() const noexcept {}
};

agg::coro::detached run(std::shared_ptr<int> owned, std::coroutine_handle<> *parking) {
  *owned = 1;
  co_await parked{parking};
  *owned = 2;
}

}  // namespace

TEST_CASE("a detached coroutine starts at once and frees its frame when it ends") {
  auto value = std::make_shared<int>(0);
  std::coroutine_handle<> parking;
  run(value, &parking);
  CHECK(*value == 1);             // ran up to its first suspension on this thread
  CHECK(value.use_count() == 2);  // its frame holds the parameter
  parking.resume();
  CHECK(*value == 2);
  CHECK(value.use_count() == 1);  // the frame, and the parameter with it, is gone
}
