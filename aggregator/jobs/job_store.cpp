#include "aggregator/jobs/job_store.hpp"

#include <algorithm>
#include <random>

#include "aggregator/fanout/render.hpp"

namespace agg::jobs {

std::string new_id() {
  thread_local std::random_device source;
  std::string id;
  id.reserve(32);
  static constexpr char hex[] = "0123456789abcdef";
  for (int word = 0; word < 4; ++word) {
    std::uint32_t bits = source();
    for (int nibble = 0; nibble < 8; ++nibble, bits >>= 4) id += hex[bits & 0xF];
  }
  return id;
}

std::string_view to_string(job_status status) noexcept {
  switch (status) {
    case job_status::pending: return "pending";
    case job_status::running: return "running";
    case job_status::done: return "done";
    case job_status::failed: return "failed";
    case job_status::cancelled: return "cancelled";
    case job_status::expired: return "expired";
  }
  return "failed";
}

job_store::~job_store() {
  const std::lock_guard lock{mutex_};
  for (auto &[id, j] : jobs_) j.run->cancel();
}

std::variant<std::string, job_store::store_full> job_store::add(
    const std::string &owner, const std::function<std::shared_ptr<fanout::background_aggregation>()> &start) {
  const std::lock_guard lock{mutex_};
  const auto now = std::chrono::steady_clock::now();
  evict_finished(now);
  std::size_t held = 0;
  std::size_t owned = 0;
  for (const auto &[id, j] : jobs_) {
    held += j.held_bytes();
    owned += j.owner == owner ? 1 : 0;
  }
  const auto everyone = [](const job &) { return true; };
  const auto its_own = [&owner](const job &j) { return j.owner == owner; };
  constexpr std::size_t any_bytes = static_cast<std::size_t>(-1);
  if (owned >= limits_.max_per_client)
    return store_full{.by_client = true, .retry_after = room_at(now, its_own, limits_.max_per_client, any_bytes)};
  if (jobs_.size() >= limits_.max_jobs || held >= limits_.max_bytes)
    return store_full{.by_bytes = held >= limits_.max_bytes,
                      .retry_after = room_at(now, everyone, limits_.max_jobs, limits_.max_bytes)};
  std::string id = new_id();
  jobs_.emplace(id, job{start(), owner});
  return id;
}

std::optional<job_view> job_store::find(const std::string &id) {
  const std::lock_guard lock{mutex_};
  evict_finished(std::chrono::steady_clock::now());
  const auto found = jobs_.find(id);
  if (found == jobs_.end()) return std::nullopt;
  if (found->second.document) return job_view{.id = id, .document = found->second.document};
  return view_of(id, found->second);
}

void job_store::keep_document(const std::string &id, std::shared_ptr<const std::string> document) {
  const std::lock_guard lock{mutex_};
  const auto found = jobs_.find(id);
  if (found != jobs_.end() && found->second.run->finished_at()) found->second.document = std::move(document);
}

std::optional<job_view> job_store::cancel(const std::string &id) {
  const std::lock_guard lock{mutex_};
  const auto found = jobs_.find(id);
  if (found == jobs_.end()) return std::nullopt;
  job &j = found->second;
  if (!j.run->done()) {
    j.cancel_requested = true;
    j.run->cancel();
  }
  return view_of(id, j);
}

std::optional<job_stamp> job_store::stamp_of(const std::string &id) {
  const std::lock_guard lock{mutex_};
  const auto found = jobs_.find(id);
  if (found == jobs_.end()) return std::nullopt;
  const job &j = found->second;
  return job_stamp{j.run->arrived(), j.run->done(), j.cancel_requested, j.run->finishes_by()};
}

void job_store::evict_finished(std::chrono::steady_clock::time_point now) {
  std::erase_if(jobs_, [&](const auto &entry) {
    const auto finished = entry.second.run->finished_at();
    if (!finished || *finished + limits_.keep_finished > now) return false;
    entry.second.run->release_bytes();  // its bodies go with it
    return true;
  });
}

std::chrono::seconds job_store::room_at(std::chrono::steady_clock::time_point now,
                                        const std::function<bool(const job &)> &counted, std::size_t max_count,
                                        std::size_t max_bytes) const {
  // Jobs leave keep_finished after they finish, in that order; a running one finishes by its
  // deadline at the latest. Room comes with the first departure that brings the count under
  // max_count and the bytes under max_bytes.
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::size_t>> leaving;  // when, bytes freed
  std::size_t held = 0;
  for (const auto &[id, j] : jobs_) {
    if (!counted(j)) continue;
    held += j.held_bytes();
    leaving.emplace_back(j.run->finished_at().value_or(j.run->finishes_by()) + limits_.keep_finished, j.held_bytes());
  }
  std::sort(leaving.begin(), leaving.end());
  auto when = now + limits_.keep_finished;
  std::size_t count = leaving.size();
  for (const auto &[at, bytes] : leaving) {
    --count;
    held -= std::min(held, bytes);
    if (count < max_count && held < max_bytes) {
      when = at;
      break;
    }
  }
  return std::max(std::chrono::seconds{1}, std::chrono::ceil<std::chrono::seconds>(when - now));
}

job_view job_store::view_of(const std::string &id, const job &j) {
  job_view v;
  v.id = id;
  v.route = j.run->route()->name;
  auto now = j.run->snapshot();
  v.planned_calls = now.planned_calls;
  v.arrived = std::move(now.arrived);
  v.result = std::move(now.result);
  if (j.cancel_requested) {
    v.status = job_status::cancelled;  // at once, while the loop removes its transfers
    return v;
  }
  if (!v.result) {
    v.status = job_status::running;  // the run starts on the loop at once: "pending" is the POST's answer
    return v;
  }
  const int status = fanout::aggregate_status(*v.result);
  if (std::any_of(v.result->results.begin(), v.result->results.end(), [](const auto &r) { return r.deadline_passed; }))
    v.status = job_status::expired;
  else
    v.status = status >= 500 ? job_status::failed : job_status::done;
  return v;
}

}  // namespace agg::jobs
