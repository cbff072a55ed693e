#include "aggregator/control/worker_pool.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "tests/support/eventually.hpp"

using agg::control::worker_pool;

TEST_CASE("a new connection's task runs on the accepting thread and takes no room from requests") {
  worker_pool pool{2, 4};
  // cpp-httplib's task for each new connection (it parks the connection in the waiting room):
  // a flood of them, while the workers are held up.
  std::atomic<bool> release{false};
  std::atomic<int> busy{0};
  for (int i = 0; i < 2; ++i)
    REQUIRE(pool.try_enqueue([&] {
      ++busy;
      while (!release) std::this_thread::yield();
    }));
  REQUIRE(agg::testing::eventually([&] { return busy == 2; }));
  int parked = 0;
  const auto accepting = std::this_thread::get_id();
  for (int i = 0; i < 1000; ++i)
    pool.enqueue([&] {
      CHECK(std::this_thread::get_id() == accepting);
      ++parked;
    });
  CHECK(parked == 1000);  // all done, none waiting for a worker
  // A connection whose request has begun still finds room for its worker: two wait while two run.
  std::atomic<int> served{0};
  CHECK(pool.try_enqueue([&] { ++served; }));
  CHECK(pool.try_enqueue([&] { ++served; }));
  CHECK_FALSE(pool.try_enqueue([&] { ++served; }));  // the bound: four held
  release = true;
  CHECK(agg::testing::eventually([&] { return served == 2; }));
  pool.shutdown();
}
