#include "aggregator/stages/fetch_stage.hpp"

#include "aggregator/client/fetch_blocking.hpp"
#include "aggregator/client/upstream_loop.hpp"

namespace agg::stages {

namespace {

coro::task<calls::upstream_reply> fetch_here(const calls::upstream_call &call, call_site site, std::stop_token stop) {
  co_return client::fetch_blocking(call, site.options(), stop);
}

/// The transfer, on the site's loop or on the calling thread.
coro::task<calls::upstream_reply> send(const calls::upstream_call &call, call_site site, std::stop_token stop) {
  if (client::upstream_loop *loop = site.loop()) return loop->fetch(call, std::move(stop));
  return fetch_here(call, site, std::move(stop));
}

}  // namespace

void fetch_stage::record(const calls::upstream_call &call, const calls::upstream_reply &reply) {
  if (shared_ == nullptr) return;
  const std::string_view origin = call.origin();
  if (last_record_ == nullptr || origin != last_origin_) {
    last_record_ = &shared_->origin(origin);
    last_origin_.assign(origin);
  }
  last_record_->stats.record(reply);
}

call_outcome fetch_stage::settle(const calls::upstream_call &call, calls::upstream_reply reply) {
  record(call, reply);
  return call_outcome{.reply = std::move(reply)};
}

coro::task<call_outcome> fetch_stage::run(call_request request) {
  if (client::upstream_loop *loop = request.site.loop(); loop != nullptr && loop->on_loop_thread())
    return run_on(*loop, std::move(request));
  return run_elsewhere(std::move(request));
}

coro::task<call_outcome> fetch_stage::run_on(client::upstream_loop &loop, call_request request) {
  // The transfer lives in this frame, not in one of its own; the reply is made after the last
  // suspension, so no copy of it waits in the frame.
  client::upstream_loop::fetch_op transfer{loop, *request.call, std::move(request.stop)};
  co_await transfer;
  co_return settle(*request.call, transfer.reply());
}

coro::task<call_outcome> fetch_stage::run_elsewhere(call_request request) {
  co_return settle(*request.call, co_await send(*request.call, request.site, std::move(request.stop)));
}

}  // namespace agg::stages
