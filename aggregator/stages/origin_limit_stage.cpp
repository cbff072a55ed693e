#include "aggregator/stages/origin_limit_stage.hpp"

#include <algorithm>

namespace agg::stages {

namespace {

/// Gives the slot to the first waiter still waiting, or frees it.
void release(loop::event_loop &events, loop_state::origin_slots &slots) {
  while (!slots.waiting.empty()) {
    const std::uint64_t next = slots.waiting.front();
    slots.waiting.pop_front();
    if (events.wake(next)) return;  // the slot passes on, still counted as busy
  }
  --slots.busy;
}

}  // namespace

coro::task<call_outcome> origin_limit_stage::run(call_request request) {
  if (request.site.loop() == nullptr) return inner_.run(std::move(request));
  return limited(std::move(request));
}

coro::task<call_outcome> origin_limit_stage::limited(call_request request) {
  loop::event_loop &events = request.site.loop()->events();
  const std::string_view origin = request.call->origin();
  auto &all = shared_.loop(request.site.loop()->index()).slots;
  auto found = all.find(origin);
  if (found == all.end()) found = all.emplace(std::string{origin}, loop_state::origin_slots{}).first;
  loop_state::origin_slots &slots = found->second;  // nodes are stable: the reference outlives rehashing

  std::chrono::steady_clock::duration queued{};  // zero unless it had to wait
  if (slots.busy < shared_.slots_per_loop()) {
    ++slots.busy;
  } else {
    const auto asked = std::chrono::steady_clock::now();
    const std::uint64_t id = events.new_waiter_id();
    slots.waiting.push_back(id);
    auto turn = events.wait(id, request.call->deadline, request.stop);  // named: see event_loop::wait
    const auto woke = co_await turn;
    if (woke != loop::event_loop::wake_reason::signal || request.stop.stop_requested()) {
      if (woke == loop::event_loop::wake_reason::signal)
        release(events, slots);  // handed a slot in the round it was cancelled: it passes on
      else
        std::erase(slots.waiting, id);
      const bool stopped = woke != loop::event_loop::wake_reason::time;
      call_outcome outcome =
          refused_outcome(stopped ? calls::outcome_kind::cancelled : calls::outcome_kind::timeout,
                          stopped ? "cancelled while waiting for a connection to " + std::string{origin}
                                  : "the deadline passed while waiting for a connection to " + std::string{origin});
      outcome.reply.deadline_passed = !stopped;
      outcome.reply.started = asked;
      outcome.queued = std::chrono::steady_clock::now() - asked;
      co_return outcome;
    }
    queued = std::chrono::steady_clock::now() - asked;
  }
  call_outcome outcome;
  try {
    outcome = co_await inner_.run(std::move(request));
  } catch (...) {
    outcome = outcome_of(std::current_exception());
  }
  release(events, slots);
  outcome.queued += queued;
  co_return outcome;
}

}  // namespace agg::stages
