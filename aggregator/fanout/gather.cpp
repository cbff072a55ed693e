#include "aggregator/fanout/gather.hpp"

#include <chrono>
#include <exception>
#include <utility>

#include "aggregator/client/fetch_blocking.hpp"
#include "aggregator/coro/sync_wait.hpp"
#include "aggregator/coro/when_all_settled.hpp"

namespace agg::fanout {

namespace {

/// A fetch that threw (a curl setup failure, out of memory) still fills its slot.
client::upstream_reply reply_for(std::exception_ptr error) {
  try {
    std::rethrow_exception(std::move(error));
  } catch (const std::exception &e) {
    return client::failed_reply(client::transfer_error::transport, e.what());
  } catch (...) {
    return client::failed_reply(client::transfer_error::transport, "unknown failure");
  }
}

/// One fetch that tells the listener about its reply as soon as it has it.
coro::task<client::upstream_reply> fetch_reporting(client::upstream_loop *loop, client::upstream_call call,
                                                   std::stop_token stop, std::size_t index,
                                                   const reply_listener *listener) {
  client::upstream_reply reply;
  try {
    reply = co_await loop->fetch(std::move(call), std::move(stop));
  } catch (...) {
    reply = reply_for(std::current_exception());
  }
  (*listener)(index, reply);
  co_return reply;
}

/// Runs the fetches at once and returns their replies in call order.
coro::task<std::vector<client::upstream_reply>> settle_all(std::vector<coro::task<client::upstream_reply>> fetches) {
  auto outcomes = co_await coro::when_all_settled(std::move(fetches));
  std::vector<client::upstream_reply> replies;
  replies.reserve(outcomes.size());
  for (auto &outcome : outcomes)
    replies.push_back(outcome.has_value() ? std::move(outcome).value() : reply_for(outcome.error()));
  co_return replies;
}

}  // namespace

coro::task<std::vector<client::upstream_reply>> gather(client::upstream_loop *loop,
                                                       std::vector<client::upstream_call> calls, std::stop_token stop) {
  co_await loop->schedule();
  std::vector<coro::task<client::upstream_reply>> fetches;
  fetches.reserve(calls.size());
  for (auto &call : calls) fetches.push_back(loop->fetch(std::move(call), stop));
  co_return co_await settle_all(std::move(fetches));
}

coro::task<std::vector<client::upstream_reply>> gather_reporting(client::upstream_loop *loop,
                                                                 std::vector<client::upstream_call> calls,
                                                                 std::stop_token stop, const reply_listener *listener) {
  co_await loop->schedule();
  std::vector<coro::task<client::upstream_reply>> fetches;
  fetches.reserve(calls.size());
  for (std::size_t i = 0; i < calls.size(); ++i)
    fetches.push_back(fetch_reporting(loop, std::move(calls[i]), stop, i, listener));
  co_return co_await settle_all(std::move(fetches));
}

std::vector<client::upstream_reply> gather_blocking(const std::vector<client::upstream_call> &calls,
                                                    const client::client_options &options,
                                                    const std::stop_token &stop) {
  std::vector<client::upstream_reply> replies;
  replies.reserve(calls.size());
  for (const auto &call : calls) {
    try {
      replies.push_back(client::fetch_blocking(call, options, stop));
    } catch (...) {
      replies.push_back(reply_for(std::current_exception()));
    }
  }
  return replies;
}

aggregate run_async(client::upstream_client &client, const fan_out_plan &plan, const std::stop_token &stop) {
  const auto started = std::chrono::steady_clock::now();
  auto replies = coro::sync_wait(gather(&client.pick_loop(), plan.calls, stop));
  return settle(plan, execution_mode::async, std::move(replies), started);
}

aggregate run_sync(const client::client_options &options, const fan_out_plan &plan, const std::stop_token &stop) {
  const auto started = std::chrono::steady_clock::now();
  return settle(plan, execution_mode::sync, gather_blocking(plan.calls, options, stop), started);
}

}  // namespace agg::fanout
