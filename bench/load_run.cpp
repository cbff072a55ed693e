#include "bench/load_run.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <latch>
#include <mutex>
#include <thread>

#include "aggregator/client/upstream_loop.hpp"
#include "aggregator/coro/detached.hpp"
#include "aggregator/coro/task.hpp"

namespace agg::bench {

namespace {

using clock = std::chrono::steady_clock;

/// Everything the clients share; touched on the loop thread only, except the atomics.
struct shared_state {
  load_result result;
  std::atomic<std::size_t> completed{0};
  std::atomic<std::size_t> failed{0};
  clock::time_point stop_at;
  clock::time_point measure_from;  // latencies of requests sent before it are not kept
  clock::time_point last_answer;
};

std::string error_kind(const calls::upstream_reply &reply) {
  if (reply.kind == calls::outcome_kind::http_status || reply.kind == calls::outcome_kind::ok)
    return "http_" + std::to_string(reply.status);
  return std::string{agg::calls::to_string(reply.kind)};
}

/// One client: request, wait for the answer, record it, repeat until the run is over.
coro::task<void> client_loop(client::upstream_loop *loop, calls::upstream_call call, shared_state *state,
                             const load_settings *settings) {
  while (clock::now() < state->stop_at) {
    const auto sent = clock::now();
    const calls::upstream_reply reply = co_await loop->fetch(call);
    const auto answered = clock::now();
    if (settings->on_reply) settings->on_reply(reply);
    state->last_answer = std::max(state->last_answer, answered);
    if (reply.kind == calls::outcome_kind::ok && reply.status == 200) {
      if (sent >= state->measure_from)
        state->result.latencies_s.push_back(std::chrono::duration<double>(answered - sent).count());
      state->completed.fetch_add(1, std::memory_order_relaxed);
    } else {
      ++state->result.errors[error_kind(reply)];
      state->failed.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

/// Runs a client from its first step on the calling thread and counts down when it ends.
coro::detached launch(coro::task<void> work, std::latch *done) {
  co_await std::move(work);
  done->count_down();
}

}  // namespace

double load_result::percentile(double p) const {
  if (latencies_s.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(latencies_s.size())));
  return latencies_s[std::min(latencies_s.size() - 1, rank == 0 ? 0 : rank - 1)];
}

load_result run_load(const load_settings &settings,
                     const std::function<void(double, std::size_t, std::size_t)> &on_progress) {
  client::client_options options;
  options.shards_per_loop = 16;
  options.max_connections = settings.clients + 16;
  client::upstream_loop loop{options, options.max_connections};
  shared_state state;
  const auto start = clock::now();
  state.stop_at = start + settings.ramp + settings.duration;
  state.last_answer = start;
  state.measure_from = start + settings.warmup;
  const calls::upstream_call call{settings.url, settings.request_timeout, 64 << 20};

  std::atomic<bool> running{true};
  std::thread progress{[&] {
    while (running.load()) {
      std::this_thread::sleep_for(std::chrono::seconds{1});
      if (on_progress && running.load())
        on_progress(std::chrono::duration<double>(clock::now() - start).count(), state.completed.load(),
                    state.failed.load());
    }
  }};

  std::latch done{static_cast<std::ptrdiff_t>(settings.clients)};
  for (std::size_t k = 0; k < settings.clients; ++k) {
    std::this_thread::sleep_until(start + settings.ramp * k / settings.clients);
    launch(client_loop(&loop, call, &state, &settings), &done);
  }
  done.wait();
  running.store(false);
  progress.join();

  load_result result = std::move(state.result);
  result.completed = state.completed.load();
  result.seconds = std::chrono::duration<double>(state.last_answer - start).count();
  std::sort(result.latencies_s.begin(), result.latencies_s.end());
  return result;
}

}  // namespace agg::bench
