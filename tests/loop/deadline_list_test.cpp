#include "aggregator/loop/deadline_list.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using agg::loop::deadline_link;
using agg::loop::deadline_list;
using clock_type = std::chrono::steady_clock;

TEST_CASE("deadlines come due in the order they were set, each its timeout after") {
  deadline_list list{100ms};
  deadline_link a, b, c;
  const auto t0 = clock_type::now();
  list.arm(a, t0);
  list.arm(b, t0 + 10ms);
  list.arm(c, t0 + 20ms);
  CHECK(list.next_due() == t0 + 100ms);
  CHECK(list.pop_due(t0 + 99ms) == nullptr);
  CHECK(list.pop_due(t0 + 110ms) == &a);
  CHECK(list.pop_due(t0 + 110ms) == &b);
  CHECK(list.pop_due(t0 + 110ms) == nullptr);
  CHECK_FALSE(a.linked());
  CHECK(c.in(list));
}

TEST_CASE("re-arming moves a deadline to the end, unlinking and destruction take it out") {
  deadline_list list{100ms};
  deadline_link a, b;
  const auto t0 = clock_type::now();
  list.arm(a, t0);
  list.arm(b, t0);
  list.arm(a, t0 + 50ms);  // progress: its time starts again
  CHECK(list.pop_due(t0 + 100ms) == &b);
  CHECK(list.pop_due(t0 + 100ms) == nullptr);
  a.unlink();
  CHECK_FALSE(list.next_due());
  {
    deadline_link gone;
    list.arm(gone, t0);
  }
  CHECK_FALSE(list.next_due());
}

TEST_CASE("a link moves from one list to another") {
  deadline_list idle{30s};
  deadline_list busy{10s};
  deadline_link a;
  const auto t0 = clock_type::now();
  idle.arm(a, t0);
  busy.arm(a, t0);
  CHECK_FALSE(idle.next_due());
  CHECK(busy.next_due() == t0 + 10s);
}
