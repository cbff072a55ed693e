#pragma once

#include "aggregator/config/live_routes.hpp"
#include "aggregator/config/service_config.hpp"
#include "aggregator/coro/detached.hpp"
#include "aggregator/fanout/aggregations.hpp"
#include "aggregator/filters/request_filter.hpp"
#include "aggregator/filters/route_guard.hpp"
#include "aggregator/jobs/job_store.hpp"
#include "aggregator/store/shared_jobs.hpp"

namespace agg::endpoints {

/// What the jobs API is given: the aggregation's door, the job store, the routes a job may name
/// and the store's limits (for what a refusal says). Must outlive every request.
struct job_serving {
  const fanout::aggregations &door;
  jobs::job_store &store;
  const config::live_routes &routes;
  const config::jobs_config &limits;
  const filters::route_guard &guard;     ///< the named route's access and rate limit
  store::shared_jobs *shared = nullptr;  ///< with a store: jobs other replicas read and cancel
};

/// `POST /api/jobs`: starts a background aggregation on the request's loop and answers 202 at once
/// with its id (400 for a job spec that is not valid, 429 when the store is full); the route it
/// names holds it to its access and rate limits as a request to the route would be. A client's jobs
/// (jobs.max_per_client) are counted by its identity, else its address.
class job_create_endpoint final : public filters::endpoint {
 public:
  explicit job_create_endpoint(job_serving serving) noexcept : serving_(serving) {}
  void serve(filters::exchange x) const override;

 private:
  /// Reads, admits (a shared rate limit asks Redis), plans and starts the job, or answers why not.
  static coro::detached create(job_serving serving, filters::exchange x);

  job_serving serving_;
};

/// `GET|HEAD|DELETE /api/jobs/{id}`: a job's status, progress and result; DELETE cancels it. A job
/// this replica does not run is asked of the shared store, when there is one (503 when it does not
/// answer: the job may well exist). `GET /api/jobs/{id}/stream`: the job's calls as they finish
/// (an `upstream` frame each), then its final document (`job`), in NDJSON or SSE as a route's
/// stream; read from wherever a GET reads it, every 100 ms.
class job_endpoint final : public filters::endpoint {
 public:
  job_endpoint(jobs::job_store &store, store::shared_jobs *shared) noexcept : store_(store), shared_(shared) {}
  void serve(filters::exchange x) const override;

  /// Where a job's path starts: `/api/jobs/` and its id.
  static constexpr std::string_view prefix = "/api/jobs/";
  /// After the id: the job's stream.
  static constexpr std::string_view stream_suffix = "/stream";
  /// How often a stream reads its job again (the runner rewrites a shared record as often).
  static constexpr std::chrono::milliseconds look_every{100};

 private:
  /// Answers from the shared store.
  static coro::detached ask_shared(store::shared_jobs &shared, filters::exchange x, std::string id, bool cancel);
  /// Streams job `id` until it ends or the client leaves.
  static coro::detached stream(jobs::job_store &store, store::shared_jobs *shared, filters::exchange x, std::string id);

  jobs::job_store &store_;
  store::shared_jobs *shared_;
};

}  // namespace agg::endpoints
