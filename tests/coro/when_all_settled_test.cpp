#include "aggregator/coro/when_all_settled.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "aggregator/coro/sync_wait.hpp"
#include "tests/support/manual_gate.hpp"

using agg::coro::outcome;
using agg::coro::sync_wait;
using agg::coro::task;
using agg::coro::when_all_settled;
using agg::testing::manual_gate;
using agg::testing::started;

namespace {

using results = std::optional<std::vector<outcome<int>>>;

task<int> gated(manual_gate *gate, int value) {
  gate->enter();
  co_await gate->wait();
  gate->leave();
  if (value < 0) throw std::invalid_argument("negative " + std::to_string(value));
  co_return value;
}

task<int> immediate(int value) { co_return value; }
task<int> throws_now() {
  throw std::runtime_error("failed at once");
  co_return 0;
}
task<void> count_up(int *counter) {
  ++*counter;
  co_return;
}

started collect(task<std::vector<outcome<int>>> all, results *out) { *out = co_await std::move(all); }

std::vector<task<int>> gated_tasks(manual_gate &gate, const std::vector<int> &values) {
  std::vector<task<int>> tasks;
  for (int v : values) tasks.push_back(gated(&gate, v));
  return tasks;
}

}  // namespace

TEST_CASE("when_all_settled gives one outcome per input, in input order") {
  std::vector<task<int>> tasks;
  for (int i = 0; i < 10; ++i) tasks.push_back(immediate(i * 10));
  auto outcomes = sync_wait(when_all_settled(std::move(tasks)));
  REQUIRE(outcomes.size() == 10);
  for (std::size_t i = 0; i < 10; ++i) CHECK(outcomes[i].value() == static_cast<int>(i) * 10);
}

TEST_CASE("when_all_settled starts every input before any finishes and keeps input order when they finish in reverse") {
  manual_gate gate;
  results out;
  const started run = collect(when_all_settled(gated_tasks(gate, {0, 1, 2, 3, 4})), &out);
  REQUIRE(gate.parked.size() == 5);  // all five run at once
  for (std::size_t i = 5; i-- > 0;) {
    CHECK_FALSE(run.done());
    gate.release(i);
  }
  REQUIRE(run.done());
  for (std::size_t i = 0; i < 5; ++i) CHECK((*out)[i].value() == static_cast<int>(i));
}

TEST_CASE("when_all_settled loses no result to a sibling's exception") {
  manual_gate gate;
  results out;
  const started run = collect(when_all_settled(gated_tasks(gate, {1, -2, 3})), &out);
  gate.release(1);  // the failing one finishes first
  gate.release(0);
  gate.release(2);
  REQUIRE(run.done());
  CHECK((*out)[0].value() == 1);
  CHECK_FALSE((*out)[1].has_value());
  CHECK_THROWS_WITH((*out)[1].value(), "negative -2");
  CHECK((*out)[2].value() == 3);
}

TEST_CASE("when_all_settled records an exception thrown before the first suspension") {
  std::vector<task<int>> tasks;
  tasks.push_back(immediate(1));
  tasks.push_back(throws_now());
  tasks.push_back(immediate(3));
  auto outcomes = sync_wait(when_all_settled(std::move(tasks)));
  CHECK(outcomes[0].value() == 1);
  CHECK_THROWS_WITH(outcomes[1].value(), "failed at once");
  CHECK(outcomes[2].value() == 3);
}

TEST_CASE("when_all_settled with a window runs at most that many inputs at once") {
  manual_gate gate;
  results out;
  const started run = collect(when_all_settled(gated_tasks(gate, {0, 1, 2, 3, 4, 5, 6}), 3), &out);
  CHECK(gate.parked.size() == 3);
  // Release whatever is parked, newest first, until all seven have run.
  while (!run.done()) {
    for (std::size_t i = gate.parked.size(); i-- > 0;)
      if (gate.parked[i]) {
        gate.release(i);
        break;
      }
  }
  CHECK(gate.max_running == 3);
  CHECK(gate.parked.size() == 7);
  for (std::size_t i = 0; i < 7; ++i) CHECK((*out)[i].value() == static_cast<int>(i));
}

TEST_CASE("when_all_settled of nothing completes at once with nothing") {
  auto outcomes = sync_wait(when_all_settled(std::vector<task<int>>{}));
  CHECK(outcomes.empty());
}

TEST_CASE("when_all_settled works for void tasks") {
  int counter = 0;
  std::vector<task<void>> tasks;
  for (int i = 0; i < 4; ++i) tasks.push_back(count_up(&counter));
  auto outcomes = sync_wait(when_all_settled(std::move(tasks)));
  CHECK(counter == 4);
  REQUIRE(outcomes.size() == 4);
  for (const auto &o : outcomes) CHECK(o.has_value());
}
