#include "aggregator/store/shared_jobs.hpp"

#include <vector>

#include "aggregator/jobs/job_document.hpp"

namespace agg::store {

namespace {

using level = config::log_config::level;

// The runner's write. KEYS: the job's record, the runner's lease. ARGV: the document, the state
// ("running" or "finished"), the runner, the record's time to live and the lease's (ms). A record
// already marked lost stays so (readers may have acted on it); the runner's lease is renewed with
// every write. Returns "lost", "cancel" (another replica asked for a cancel) or "ok".
constexpr const char *write_lua = R"lua(
if redis.call('HGET', KEYS[1], 'state') == 'lost' then return 'lost' end
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'state', ARGV[2], 'runner', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[5])
if redis.call('HEXISTS', KEYS[1], 'cancel') == 1 then return 'cancel' end
return 'ok'
)lua";

// Any replica's read, or cancel. KEYS: the record. ARGV: the leases' key prefix, "read" or
// "cancel", the cancel channel, the job's id. Nil for no record; else {state, document}, where a
// running job whose cancel was asked is "cancelling", and one whose runner's lease is gone is
// {"orphan", document, runner}. A cancel marks the record and publishes the id.
constexpr const char *read_lua = R"lua(
local r = redis.call('HMGET', KEYS[1], 'state', 'doc', 'runner', 'cancel')
if not r[1] then return false end
if r[1] ~= 'running' then return {r[1], r[2]} end
if redis.call('EXISTS', ARGV[1] .. r[3]) == 0 then return {'orphan', r[2], r[3]} end
if ARGV[2] == 'cancel' and not r[4] then
  redis.call('HSET', KEYS[1], 'cancel', '1')
  redis.call('PUBLISH', ARGV[3], ARGV[4])
  r[4] = '1'
end
if r[4] then return {'cancelling', r[2]} end
return {'running', r[2]}
)lua";

// Marks a running job lost. KEYS: the record. ARGV: its document so restated, the time to live
// (ms). 0 when it is not running any more (its runner wrote a final state after all).
constexpr const char *lose_lua = R"lua(
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'state', 'lost')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
)lua";

constexpr auto write_every = std::chrono::milliseconds{100};  // how stale another replica's view can be

}  // namespace

shared_jobs::shared_jobs(redis_store &store, jobs::job_store &local, const config::jobs_config &limits,
                         const runtime::service_log &log)
    : store_(store),
      local_(local),
      limits_(limits),
      log_(log),
      loop_(store.link(0).loop()),
      lease_key_(store.lease_key(store.replica())),
      channel_(store.key("jobs:cancel")) {
  // A cancel asked on another replica: the job's runner (any other replica ignores it).
  store.subscribe(channel_,
                  [this](std::string_view, std::string_view id) { static_cast<void>(local_.cancel(std::string{id})); });
}

shared_jobs::~shared_jobs() {
  if (hooked_) loop_.remove_hooks(*this);
}

void shared_jobs::start() {
  loop_.call([this] {
    loop_.add_hooks(*this);
    hooked_ = true;
    next_round_ = loop::clock::now();
    next_renewal_ = loop::clock::now();
  });
}

void shared_jobs::on_round(loop::clock::time_point now) {
  if (stopping_ || !next_round_ || *next_round_ > now) return;
  next_round_ = now + write_every;
  if (!store_.link(0).up()) return;  // the writes wait for Redis; the lease too
  if (now >= next_renewal_) {
    next_renewal_ = now + store_.lease() / 3;
    renew();
  }
  std::vector<std::string> moved;
  std::erase_if(kept_, [&](auto &entry) {
    if (entry.second.writing) return false;
    const auto stamp = local_.stamp_of(entry.first);
    if (!stamp) return true;  // evicted here: its record expires on its own
    if (entry.second.written != stamp) moved.push_back(entry.first);
    return false;
  });
  for (auto &id : moved) keep(std::move(id));  // outside the iteration: a write may end at once
}

coro::detached shared_jobs::renew() {
  const std::string lease = std::to_string(store_.lease().count());
  auto sent = store_.link(0).command({"SET", lease_key_, "1", "PX", lease});
  static_cast<void>(co_await sent);  // a failure: the next round renews it
}

coro::task<std::optional<jobs::job_stamp>> shared_jobs::write(redis_link &link, std::string id) {
  const auto stamp = local_.stamp_of(id);  // before the view: the document is at least this far along
  auto view = local_.find(id);
  if (!stamp || !view) co_return std::nullopt;
  std::shared_ptr<const std::string> document = view->document;
  if (!document) {
    document = std::make_shared<const std::string>(jobs::render(*view));
    if (view->result) local_.keep_document(id, document);
  }
  const auto lives =
      stamp->finished ? limits_.keep_finished
                      : stamp->finishes_by - std::chrono::steady_clock::now() + limits_.keep_finished + store_.lease();
  static const std::string script{write_lua};
  const std::string ttl = expiry_ms(lives);
  const std::string lease = std::to_string(store_.lease().count());
  const std::string key = store_.key("job:" + id);  // the command keeps views until it is sent
  auto sent = link.command({"EVAL", script, "2", key, lease_key_, *document, stamp->finished ? "finished" : "running",
                            store_.replica(), ttl, lease});
  const result answer = co_await sent;
  const auto *r = std::get_if<reply>(&answer);
  if (r == nullptr || r->type != reply::kind::text) co_return std::nullopt;  // a Lua string is a bulk reply
  jobs::job_stamp written = *stamp;
  if (r->text == "cancel" && !stamp->cancel_requested) static_cast<void>(local_.cancel(id));
  if (r->text == "lost") written.finished = true;  // declared lost while Redis was away: nothing more to write
  co_return written;
}

coro::detached shared_jobs::keep(std::string id) {
  kept_[id].writing = true;
  const auto written = co_await write(store_.link(0), id);
  const auto entry = kept_.find(id);
  if (entry == kept_.end()) co_return;
  entry->second.writing = false;
  if (written) entry->second.written = written;
  if (written && written->finished) kept_.erase(entry);
}

coro::task<> shared_jobs::started(std::size_t loop, std::string id) {
  auto written = co_await write(store_.link(loop), id);
  loop_.post([this, id = std::move(id), written] { kept_[id].written = written; });
}

coro::task<shared_jobs::found> shared_jobs::find(std::size_t loop, std::string id, bool cancel) {
  co_return co_await read(store_.link(loop), std::move(id), cancel, false);
}

coro::task<shared_jobs::found> shared_jobs::read(redis_link &link, std::string id, bool cancel, bool retried) {
  static const std::string script{read_lua};
  const std::string key = store_.key("job:" + id);
  const std::string leases = store_.lease_key("");  // a replica's is this and its name
  auto sent = link.command({"EVAL", script, "1", key, leases, cancel ? "cancel" : "read", channel_, id});
  const result answer = co_await sent;
  const auto *r = std::get_if<reply>(&answer);
  if (r == nullptr || r->is_error()) co_return unavailable{why_unanswered(answer)};
  if (r->type == reply::kind::nil) co_return missing{};
  if (r->type != reply::kind::array || r->elements.size() < 2) co_return unavailable{why_unanswered(answer)};
  const std::string &state = r->elements[0].text;
  std::string document = r->elements[1].text;
  if (state == "cancelling") co_return jobs::restated(document, "cancelled", {}).value_or(document);
  if (state != "orphan" || r->elements.size() < 3) co_return document;
  const std::string reason = "the replica that ran it (" + r->elements[2].text +
                             ") stopped renewing its lease (jobs.lease_ms, " + std::to_string(store_.lease().count()) +
                             " ms) before the job finished: it stopped, or lost Redis; its results are gone";
  std::string lost = jobs::restated(document, "lost", reason).value_or(document);
  static const std::string mark{lose_lua};
  const std::string ttl = std::to_string(limits_.keep_finished.count());
  auto marked = link.command({"EVAL", mark, "1", key, lost, ttl});
  const result outcome = co_await marked;
  const auto *m = std::get_if<reply>(&outcome);
  if (m != nullptr && m->type == reply::kind::integer && m->integer == 0 && !retried)
    co_return co_await read(link, std::move(id), cancel, true);  // its runner wrote a final state meanwhile
  co_return lost;
}

}  // namespace agg::store
