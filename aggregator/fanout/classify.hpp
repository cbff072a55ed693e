#pragma once

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include <string>

#include "aggregator/calls/upstream_call.hpp"

namespace agg::fanout {

/// What one reply makes its slot of the response, the last step of classifying a call (the transfer
/// tells a 2xx from another status and names why no response came; a stage adds circuit_open):
/// sets `kind` and `detail` and returns the body, parsed in `storage`. A 2xx body that is not JSON
/// is invalid_json, or kept as a JSON string when the route accepts non-JSON bodies; a 204 is ok
/// with a null body; anything but ok has a null body and the reply's reason as its detail.
boost::json::value classify(const calls::upstream_reply &reply, bool accept_non_json,
                            const boost::json::storage_ptr &storage, calls::outcome_kind &kind, std::string &detail);

}  // namespace agg::fanout
