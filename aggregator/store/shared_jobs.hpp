#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>

#include "aggregator/config/service_config.hpp"
#include "aggregator/coro/detached.hpp"
#include "aggregator/coro/task.hpp"
#include "aggregator/jobs/job_store.hpp"
#include "aggregator/runtime/service_log.hpp"
#include "aggregator/store/redis_store.hpp"

namespace agg::store {

/// Jobs any replica answers (with store.redis_url). A job runs where it was created, in that
/// replica's job_store, which bounds them as without Redis; its record in Redis (a hash
/// `job:<id>`: the document GET answers, its state, the replica running it, a cancel asked) is
/// written before the POST answers and rewritten by the runner's first loop within 100 ms of each
/// change, and expires jobs.keep_finished_ms after the job finished. Another replica reads and
/// cancels it there: a cancel is marked on the record and published on `jobs:cancel`, which every
/// replica listens to (and the runner's next write also sees the mark). Each replica renews a
/// lease (`replica:<id>`, jobs.lease_ms) every third of it while it lives; a running job whose
/// runner's lease is gone is turned `lost`, with the reason, by the first replica that reads it.
class shared_jobs final : private loop::loop_hooks {
 public:
  shared_jobs(redis_store &store, jobs::job_store &local, const config::jobs_config &limits,
              const runtime::service_log &log);
  shared_jobs(const shared_jobs &) = delete;
  shared_jobs &operator=(const shared_jobs &) = delete;
  /// After the loops stopped.
  ~shared_jobs();

  /// Starts the lease and the writes, on the first loop.
  void start();

  /// Job `id` just started here: its record is written now, on loop `loop` (so that a GET on any
  /// replica after the POST's answer finds it), then kept current by the first loop. When Redis
  /// does not answer now, the first loop writes it once it does.
  coro::task<> started(std::size_t loop, std::string id);

  /// No record of the job: it never was, or it expired.
  struct missing {};
  /// Redis did not answer (why).
  struct unavailable {
    std::string why;
  };
  using found = std::variant<std::string, missing, unavailable>;
  /// The document of job `id`, which another replica runs (or ran), as a GET answers it; with
  /// `cancel`, after asking its runner to cancel it (DELETE). On loop `loop`.
  coro::task<found> find(std::size_t loop, std::string id, bool cancel);

 private:
  /// What the first loop last wrote for a job that runs here.
  struct kept {
    std::optional<jobs::job_stamp> written;  ///< nothing yet
    bool writing = false;
  };
  /// Writes job `id`'s record on `link` as it stands; the stamp written, or nullopt when it was not.
  coro::task<std::optional<jobs::job_stamp>> write(redis_link &link, std::string id);
  /// Rewrites `id`'s record (first loop), and forgets it once its final state is written.
  coro::detached keep(std::string id);
  /// Renews this replica's lease (first loop).
  coro::detached renew();
  /// The document a read found, restated as what the reader knows beyond it; one retry after a
  /// lost race to mark a job lost.
  coro::task<found> read(redis_link &link, std::string id, bool cancel, bool retried);

  [[nodiscard]] std::optional<loop::clock::time_point> next_deadline() const override { return next_round_; }
  void on_round(loop::clock::time_point now) override;
  void on_stop() override { stopping_ = true; }

  redis_store &store_;
  jobs::job_store &local_;
  const config::jobs_config limits_;
  const runtime::service_log &log_;
  loop::event_loop &loop_;       // the first loop's
  const std::string lease_key_;  // this replica's (redis_store::lease_key)
  const std::string channel_;
  std::unordered_map<std::string, kept> kept_;         // loop thread: the jobs that run here, until written finished
  std::optional<loop::clock::time_point> next_round_;  // loop thread
  loop::clock::time_point next_renewal_;               // loop thread
  bool stopping_ = false;                              // loop thread
  bool hooked_ = false;
};

}  // namespace agg::store
