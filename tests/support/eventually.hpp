#pragma once

#include <chrono>
#include <thread>

namespace agg::testing {

/// Polls `condition` until it holds or `limit` passes; true when it held. For conditions another
/// thread makes true (a request reaching the upstream): the test waits for the state, not a time.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = std::chrono::seconds{30}) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  return true;
}

}  // namespace agg::testing
