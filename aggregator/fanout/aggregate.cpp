#include "aggregator/fanout/aggregate.hpp"

#include <boost/json/monotonic_resource.hpp>

#include <algorithm>
#include <cassert>

#include "aggregator/fanout/body_shaping.hpp"
#include "aggregator/fanout/classify.hpp"

namespace agg::fanout {

std::string_view to_string(execution_mode mode) noexcept { return mode == execution_mode::async ? "async" : "sync"; }

std::size_t aggregate::failures() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(results.begin(), results.end(), [](const auto &r) { return r.kind != calls::outcome_kind::ok; }));
}

aggregate settle(const fan_out_plan &plan, execution_mode mode, std::vector<stages::call_outcome> outcomes,
                 std::chrono::steady_clock::time_point started) {
  assert(outcomes.size() == plan.calls.size());
  const auto finished = std::chrono::steady_clock::now();  // the fetch is over; parsing is not part of it
  arrival_settler settler{plan, mode, started};
  for (std::size_t i = 0; i < outcomes.size(); ++i) settler(i, outcomes[i]);
  return settler.take(finished);
}

boost::json::value settle_body(const fan_out_plan &plan, std::size_t index, const stages::call_outcome &outcome,
                               upstream_result &facts, const boost::json::storage_ptr &storage) {
  const calls::upstream_reply &reply = outcome.reply;
  if (const auto &unsent = plan.places[index].unsent) {  // the plan's own failure: nothing was sent
    facts.kind = *unsent;
    facts.detail = reply.error_detail;
    return boost::json::value(storage);
  }
  const config::upstream_entry &entry = plan.entry_of(index);
  // Initialised, never assigned: the parsed tree keeps the storage it was made in.
  boost::json::value body = classify(reply, plan.route->accept_non_json, storage, facts.kind, facts.detail);
  facts.status = reply.status;
  if (facts.kind == calls::outcome_kind::ok && !entry.shape.empty()) {
    shape_body(entry.shape, body, facts.notes);
    if (entry.required && !facts.notes.empty()) {  // a required entry must have what it is shaped to
      facts.kind = calls::outcome_kind::missing_value;
      facts.detail = facts.notes.front();
      body = nullptr;
    }
  }
  return body;
}

upstream_result settle_one(const fan_out_plan &plan, std::size_t index, const stages::call_outcome &outcome,
                           std::chrono::steady_clock::time_point started, const boost::json::storage_ptr &storage) {
  const calls::upstream_reply &reply = outcome.reply;
  const config::upstream_entry &entry = plan.entry_of(index);
  upstream_result facts;
  boost::json::value body = settle_body(plan, index, outcome, facts, storage);
  // Built whole, so that the body is moved in and keeps its storage (assigning would copy it into
  // the slot's default one).
  return upstream_result{.url = plan.calls[index].url,
                         .kind = facts.kind,
                         .status = facts.status,
                         .body = std::move(body),
                         .detail = std::move(facts.detail),
                         .required = entry.required,
                         .deadline_passed = reply.deadline_passed,
                         .start_offset = reply.started - started,
                         .duration = reply.finished - reply.started,
                         .bytes = reply.body.size(),
                         .connects = reply.connects,
                         .wire_bytes = reply.wire_bytes,
                         .attempts = entry.policy.retry || entry.policy.hedge || outcome.attempts != 1
                                         ? std::optional<unsigned>{outcome.attempts}
                                         : std::nullopt,
                         .hedged = outcome.hedged,
                         .cache = outcome.cache,
                         .coalesced = outcome.coalesced,
                         .queued = outcome.queued,
                         .entry = plan.places[index].entry,
                         .name = entry.name,
                         .method = plan.calls[index].method,
                         .item = plan.places[index].item,
                         .item_value = plan.places[index].value,
                         .headers = reply.headers,
                         .notes = std::move(facts.notes)};
}

arrival_settler::arrival_settler(const fan_out_plan &plan, execution_mode mode,
                                 std::chrono::steady_clock::time_point started)
    // One arena for every body of the aggregation: its trees die together, with the aggregate.
    : plan_(plan), bodies_(boost::json::make_shared_resource<boost::json::monotonic_resource>()) {
  result_.route = plan.route;
  result_.mode = mode;
  result_.started = started;
  grow(plan.calls.size());
}

void arrival_settler::grow(std::size_t count) {
  // Constructed with the arena, never assigned it: assigning would copy into the slot's storage.
  if (count > result_.results.capacity()) result_.results.reserve(std::max(count, 2 * result_.results.capacity()));
  while (result_.results.size() < count)
    result_.results.push_back(upstream_result{.body = boost::json::value(bodies_)});
}

const upstream_result &arrival_settler::operator()(std::size_t index, const stages::call_outcome &outcome) {
  if (index >= result_.results.size()) grow(index + 1);  // a composed plan grew
  upstream_result &slot = result_.results[index];
  slot = settle_one(plan_, index, outcome, result_.started, bodies_);  // same arena: the tree moves in
  return slot;
}

aggregate arrival_settler::take(std::chrono::steady_clock::time_point finished) {
  result_.finished = finished;
  result_.response_bytes_limited = plan_.budget && plan_.budget->spent();
  return std::move(result_);
}

}  // namespace agg::fanout
