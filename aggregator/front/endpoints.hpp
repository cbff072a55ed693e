#pragma once

#include <memory>

#include "aggregator/config/route_table.hpp"
#include "aggregator/front/request_state.hpp"

namespace agg::front {

class connection;
class loop_front;

/// A request being served: on which loop, over which connection, and what it asked. Endpoints
/// take it by value and answer through `client` (now, or when their coroutine ends).
struct exchange {
  loop_front &front;
  std::shared_ptr<connection> client;
  request_state state;
};

/// A route's endpoint: the async aggregation (coroutines on this loop), the sync baseline (on the
/// blocking pool; the loop parks the connection meanwhile) or the stream (a chunk per result, the
/// moment it arrives). Admission and planning refusals are answered here (503, 400).
void serve_route(exchange x, const config::endpoint &target);

/// `POST /api/jobs`: starts a background aggregation on this loop and answers 202 at once.
void serve_job_create(exchange x);
/// `GET|HEAD|DELETE /api/jobs/{id}`: a job's status, progress and result; DELETE cancels it.
void serve_job(exchange x);

}  // namespace agg::front
