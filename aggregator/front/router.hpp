#pragma once

#include <memory>

#include "aggregator/front/request_state.hpp"

namespace agg::front {

class connection;
class loop_front;

/// Routes one complete request on the data plane: gives it its request id, reads its target
/// (Boost.URL), checks the client token, looks its path up (the fixed endpoints' table, then the
/// routes in force) and hands it to that endpoint, or answers 400/401/403/404/405 itself. Exact
/// paths only, never a pattern: no path can make routing recurse. Loop thread.
void route_request(loop_front &front, std::shared_ptr<connection> client, request_state state);

}  // namespace agg::front
