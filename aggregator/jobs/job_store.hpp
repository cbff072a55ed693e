#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "aggregator/fanout/background_aggregation.hpp"

namespace agg::jobs {

/// Where a job is in its life.
enum class job_status { pending, running, done, failed, cancelled, expired };
std::string_view to_string(job_status status) noexcept;

/// How many jobs the store keeps and for how long it keeps finished ones.
struct job_limits {
  std::size_t max_jobs = 1000;  ///< running and finished-but-kept together
  std::chrono::milliseconds keep_finished{300'000};
  /// What the kept jobs' results hold together (background_aggregation::held_bytes); at it, no new
  /// job starts. Their bodies, running jobs' included, never pass it together: a body that would
  /// ends its call too_large (their parsed form holds about three times the bytes).
  std::size_t max_bytes = 256 << 20;
  /// Jobs one client may hold (running and kept): one client cannot fill the store for everyone.
  std::size_t max_per_client = 100;
};

/// What GET /api/jobs/{id} reports.
struct job_view {
  std::string id;
  std::string route;
  job_status status = job_status::pending;
  std::size_t planned_calls = 0;
  std::optional<fanout::aggregate> result;                       ///< once the run is over
  std::vector<fanout::background_aggregation::arrival> arrived;  ///< the calls finished so far (the progress)
  /// A finished job's document as kept (keep_document): when set, nothing else is filled in but the
  /// id: the bytes say it all.
  std::shared_ptr<const std::string> document;
};

/// 128 bits from the kernel's random source, as 32 hex digits: not guessable from other ids.
std::string new_id();

/// Where a job stands, in a few words: enough to tell whether it moved since the last look.
struct job_stamp {
  std::size_t arrived = 0;  ///< calls finished
  bool finished = false;    ///< the run is over
  bool cancel_requested = false;
  std::chrono::steady_clock::time_point finishes_by;  ///< its deadline: done by then at the latest
  friend bool operator==(const job_stamp &, const job_stamp &) = default;
};

/// Background aggregations started by a request that returns at once (asyncio.create_task), kept
/// under unguessable ids until they are read, cancelled, or evicted some time after finishing.
/// Jobs run in this process; with a store (store::shared_jobs) other replicas read and cancel them
/// through Redis. Thread-safe.
class job_store {
 public:
  explicit job_store(job_limits limits)
      : limits_(limits), bodies_(std::make_shared<calls::byte_budget>(limits.max_bytes)) {}
  job_store(const job_store &) = delete;
  job_store &operator=(const job_store &) = delete;
  /// Cancels the jobs still running; their runs end on the upstream loop.
  ~job_store();

  /// The store holds max_jobs jobs, or max_bytes of results, already; or the client max_per_client.
  struct store_full {
    bool by_bytes = false;   ///< max_bytes, not max_jobs, is what is reached
    bool by_client = false;  ///< the client's own share (max_per_client) is what is reached
    /// The soonest eviction makes room then (no sooner: nothing else removes a job; a running job
    /// leaves keep_finished after its deadline at the latest): the Retry-After to send, in whole
    /// seconds, at least 1.
    std::chrono::seconds retry_after{1};
  };
  /// Starts a run with `start` for client `owner` (its identity, or its address) and keeps it under
  /// a new id; store_full (and nothing started) when there is no room, or the owner has its share.
  std::variant<std::string, store_full> add(
      const std::string &owner, const std::function<std::shared_ptr<fanout::background_aggregation>()> &start);
  /// What the jobs' bodies draw on: a job's plan draws on it (calls::byte_budget::draw_on) before
  /// it starts.
  [[nodiscard]] const std::shared_ptr<calls::byte_budget> &bodies() const noexcept { return bodies_; }
  /// The job with this id, or nullopt when there is none (never was, or evicted).
  std::optional<job_view> find(const std::string &id);
  /// Keeps the rendered document of a finished job, so that every GET after it sends these bytes
  /// (shared, never copied per reader) instead of rendering them again. Counts in max_bytes.
  void keep_document(const std::string &id, std::shared_ptr<const std::string> document);
  /// Cancels the job (its calls stop); the view after it, or nullopt when there is no such job.
  std::optional<job_view> cancel(const std::string &id);
  /// Where job `id` stands (nullopt: no such job), without copying its results.
  std::optional<job_stamp> stamp_of(const std::string &id);

 private:
  struct job {
    std::shared_ptr<fanout::background_aggregation> run;
    std::string owner;
    bool cancel_requested = false;
    std::shared_ptr<const std::string> document;  // once finished and read
    [[nodiscard]] std::size_t held_bytes() const noexcept {
      return run->held_bytes() + (document ? document->size() : 0);
    }
  };
  void evict_finished(std::chrono::steady_clock::time_point now);  // mutex_ held
  /// When evictions will have made room for one more job among those `counted` (all, or one
  /// owner's): under `max_count` jobs and `max_bytes` bytes; mutex_ held.
  std::chrono::seconds room_at(std::chrono::steady_clock::time_point now,
                               const std::function<bool(const job &)> &counted, std::size_t max_count,
                               std::size_t max_bytes) const;
  static job_view view_of(const std::string &id, const job &j);

  job_limits limits_;
  std::shared_ptr<calls::byte_budget> bodies_;
  std::mutex mutex_;
  std::unordered_map<std::string, job> jobs_;  // guarded by mutex_
};

}  // namespace agg::jobs
