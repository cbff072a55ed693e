#include "aggregator/stages/fetch_stage.hpp"

#include "aggregator/client/fetch_blocking.hpp"

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

coro::task<call_outcome> fetch_stage::run(call_request request) {
  call_outcome outcome;
  outcome.reply = co_await send(*request.call, request.site, std::move(request.stop));
  record(*request.call, outcome.reply);
  co_return outcome;
}

}  // namespace agg::stages
