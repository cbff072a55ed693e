#include "aggregator/fanout/call_window.hpp"

#include <catch2/catch.hpp>

#include <vector>

#include "aggregator/coro/detached.hpp"

namespace {

/// A call that takes a slot, says so in `log`, and holds it until `release` is called on the window.
agg::coro::detached take_slot(agg::fanout::call_window *window, int id, std::vector<std::pair<int, bool>> *log) {
  const bool waited = co_await window->acquire();
  log->emplace_back(id, waited);
}

}  // namespace

TEST_CASE("a window lets `slots` calls through and hands each freed slot to the first waiter") {
  agg::fanout::call_window window{2};
  std::vector<std::pair<int, bool>> log;
  for (int id = 0; id < 5; ++id) take_slot(&window, id, &log);
  REQUIRE(log.size() == 2);
  CHECK(log[0] == std::pair{0, false});
  CHECK(log[1] == std::pair{1, false});
  window.release();  // the first waiter takes it, here and now
  REQUIRE(log.size() == 3);
  CHECK(log[2] == std::pair{2, true});
  window.release();
  window.release();
  REQUIRE(log.size() == 5);
  CHECK(log[4] == std::pair{4, true});
  window.release();  // nobody waits: the slot is free again
  take_slot(&window, 5, &log);
  CHECK(log.back() == std::pair{5, false});
}

TEST_CASE("a window of 0 never holds a call back") {
  agg::fanout::call_window window{0};
  std::vector<std::pair<int, bool>> log;
  for (int id = 0; id < 100; ++id) take_slot(&window, id, &log);
  CHECK(log.size() == 100);
  CHECK(log.back().second == false);
}
