#pragma once

#include <cstddef>
#include <functional>
#include <stop_token>
#include <vector>

#include "aggregator/client/client_options.hpp"
#include "aggregator/client/upstream_call.hpp"
#include "aggregator/client/upstream_client.hpp"
#include "aggregator/client/upstream_loop.hpp"
#include "aggregator/coro/task.hpp"
#include "aggregator/fanout/aggregate.hpp"
#include "aggregator/fanout/fan_out_plan.hpp"

namespace agg::fanout {

/// Runs every call at once on `loop` (asyncio.gather): one reply per call, in call order, however
/// they end. Hops onto the loop once for the whole set and resumes the caller on the loop thread.
/// Requesting `stop` cancels what is still running: those replies say `cancelled`.
coro::task<std::vector<client::upstream_reply>> gather(client::upstream_loop *loop,
                                                       std::vector<client::upstream_call> calls,
                                                       std::stop_token stop = {});

/// Called on the loop thread as each call finishes, with its index in the plan: the streaming
/// endpoint and background jobs hand results over as they arrive with it. Must not block.
using reply_listener = std::function<void(std::size_t index, const client::upstream_reply &reply)>;

/// gather(), telling `listener` about each reply the moment it arrives (in completion order);
/// the returned replies are still in call order. `listener` must outlive the task.
coro::task<std::vector<client::upstream_reply>> gather_reporting(client::upstream_loop *loop,
                                                                 std::vector<client::upstream_call> calls,
                                                                 std::stop_token stop, const reply_listener *listener);

/// The same calls one after another on the calling thread, with the same request options; after a
/// `stop` the current call ends and the rest are not started (all `cancelled`).
std::vector<client::upstream_reply> gather_blocking(const std::vector<client::upstream_call> &calls,
                                                    const client::client_options &options,
                                                    const std::stop_token &stop = {});

/// Executes the plan concurrently on one of the client's loops and blocks the calling thread until
/// every call has settled (Django's async_to_sync). Never call it from an upstream loop thread.
aggregate run_async(client::upstream_client &client, const fan_out_plan &plan, const std::stop_token &stop = {});

/// Executes the plan sequentially on the calling thread: the sync baseline.
aggregate run_sync(const client::client_options &options, const fan_out_plan &plan, const std::stop_token &stop = {});

}  // namespace agg::fanout
