#pragma once

#include <stop_token>

#include "aggregator/calls/upstream_call.hpp"
#include "aggregator/client/client_options.hpp"

namespace agg::client {

/// Performs the call with curl easy on the calling thread and returns when it is over: the sync
/// baseline. Same request options as upstream_loop::fetch; keeps one easy handle (and so its
/// keep-alive connections) per calling thread. Any thread may call it; upstream failures are replies.
/// A requested `stop` ends the transfer as `cancelled` within about a second.
calls::upstream_reply fetch_blocking(const calls::upstream_call &call, const client_options &options,
                                     const std::stop_token &stop = {});

}  // namespace agg::client
