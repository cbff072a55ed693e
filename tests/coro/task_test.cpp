#include "aggregator/coro/task.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "aggregator/coro/sync_wait.hpp"

using agg::coro::sync_wait;
using agg::coro::task;

namespace {

task<int> answer() { co_return 42; }
task<std::string> greet(std::string name) { co_return "hello " + name; }
task<void> nothing(int *touched) {
  *touched = 1;
  co_return;
}
task<int> fails() {
  throw std::runtime_error("boom");
  co_return 0;
}
task<int> add_nested() { co_return co_await answer() + co_await answer(); }

struct sets_flag_on_destruction {
  bool *flag;
  explicit sets_flag_on_destruction(bool *f) : flag(f) {}
  sets_flag_on_destruction(sets_flag_on_destruction &&other) noexcept : flag(std::exchange(other.flag, nullptr)) {}
  ~sets_flag_on_destruction() {
    if (flag) *flag = true;
  }
};

task<int> holds(sets_flag_on_destruction guard, bool *ran) {
  *ran = true;
  co_return guard.flag != nullptr ? 1 : 0;
}

/// Records how deep the stack is at each synchronous completion.
task<int> identity(int value, std::uintptr_t *lowest, std::uintptr_t *highest) {
  int marker = value;
  const auto here = reinterpret_cast<std::uintptr_t>(&marker);
  if (here < *lowest) *lowest = here;
  if (here > *highest) *highest = here;
  co_return marker;
}

task<long long> many_synchronous_awaits(int count, std::uintptr_t *lowest, std::uintptr_t *highest) {
  long long sum = 0;
  for (int i = 0; i < count; ++i) sum += co_await identity(i, lowest, highest);
  co_return sum;
}

}  // namespace

TEST_CASE("a task produces its value when awaited") {
  CHECK(sync_wait(answer()) == 42);
  CHECK(sync_wait(greet("world")) == "hello world");
  CHECK(sync_wait(add_nested()) == 84);
}

TEST_CASE("a void task runs its body once awaited") {
  int touched = 0;
  auto t = nothing(&touched);
  CHECK(touched == 0);  // lazy: nothing runs before the await
  sync_wait(std::move(t));
  CHECK(touched == 1);
}

TEST_CASE("a task's exception reaches the awaiting coroutine") { CHECK_THROWS_WITH(sync_wait(fails()), "boom"); }

TEST_CASE("a task destroyed without being awaited never runs and frees its frame") {
  bool destroyed = false;
  bool ran = false;
  {
    auto t = holds(sets_flag_on_destruction{&destroyed}, &ran);
    CHECK(t.valid());
    CHECK_FALSE(destroyed);
  }
  CHECK(destroyed);
  CHECK_FALSE(ran);
}

TEST_CASE("a moved-from task is empty and the move target owns the frame") {
  auto a = answer();
  auto b = std::move(a);
  CHECK_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state is the point
  CHECK(b.valid());
  CHECK(sync_wait(std::move(b)) == 42);
}

TEST_CASE("100k synchronous awaits in a loop do not grow the stack") {
  constexpr int count = 100'000;
  std::uintptr_t lowest = UINTPTR_MAX;
  std::uintptr_t highest = 0;
  const long long sum = sync_wait(many_synchronous_awaits(count, &lowest, &highest));
  CHECK(sum == static_cast<long long>(count) * (count - 1) / 2);
  // Symmetric transfer resumes each awaiter from the same depth; recursion would spread the
  // marker over megabytes of stack.
  CHECK(highest - lowest < 1024);
}
