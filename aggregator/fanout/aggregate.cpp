#include "aggregator/fanout/aggregate.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <cassert>

namespace agg::fanout {

std::string_view to_string(execution_mode mode) noexcept { return mode == execution_mode::async ? "async" : "sync"; }

std::string_view to_string(outcome_kind kind) noexcept {
  switch (kind) {
    case outcome_kind::ok: return "ok";
    case outcome_kind::timeout: return "timeout";
    case outcome_kind::connect: return "connect";
    case outcome_kind::http_status: return "http_status";
    case outcome_kind::invalid_json: return "invalid_json";
    case outcome_kind::too_large: return "too_large";
    case outcome_kind::cancelled: return "cancelled";
    case outcome_kind::transport: return "transport";
  }
  return "transport";
}

std::size_t aggregate::failures() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(results.begin(), results.end(), [](const auto &r) { return r.kind != outcome_kind::ok; }));
}

namespace {

outcome_kind kind_of(client::transfer_error error) noexcept {
  switch (error) {
    case client::transfer_error::none: return outcome_kind::ok;
    case client::transfer_error::timeout: return outcome_kind::timeout;
    case client::transfer_error::connect: return outcome_kind::connect;
    case client::transfer_error::too_large: return outcome_kind::too_large;
    case client::transfer_error::cancelled: return outcome_kind::cancelled;
    case client::transfer_error::transport: return outcome_kind::transport;
  }
  return outcome_kind::transport;
}

void classify_response(upstream_result &result, const client::upstream_reply &reply, bool accept_non_json) {
  result.status = reply.status;
  if (reply.status < 200 || reply.status > 299) {
    result.kind = outcome_kind::http_status;
    result.detail = "upstream answered HTTP " + std::to_string(reply.status);
    return;
  }
  if (reply.status == 204) return;  // ok, with a null body
  boost::system::error_code ec;
  result.body = boost::json::parse(reply.body, ec);
  if (ec && accept_non_json) {
    result.body = boost::json::string{reply.body};
  } else if (ec) {
    result.kind = outcome_kind::invalid_json;
    result.detail = "upstream body is not JSON: " + ec.message();
    result.body = nullptr;
  }
}

}  // namespace

aggregate settle(const fan_out_plan &plan, execution_mode mode, std::vector<client::upstream_reply> replies,
                 std::chrono::steady_clock::time_point started) {
  assert(replies.size() == plan.calls.size());
  aggregate result;
  result.route = plan.route;
  result.mode = mode;
  result.started = started;
  result.finished = std::chrono::steady_clock::now();  // the fetch is over; parsing is not part of it
  result.results.reserve(replies.size());
  for (std::size_t i = 0; i < replies.size(); ++i) result.results.push_back(settle_one(plan, i, replies[i], started));
  return result;
}

upstream_result settle_one(const fan_out_plan &plan, std::size_t index, const client::upstream_reply &reply,
                           std::chrono::steady_clock::time_point started) {
  upstream_result slot;
  slot.url = plan.calls[index].url;
  slot.start_offset = reply.started - started;
  slot.duration = reply.finished - reply.started;
  slot.kind = kind_of(reply.error);
  slot.required = plan.required[index];
  slot.deadline_passed = reply.deadline_passed;
  if (slot.kind == outcome_kind::ok)
    classify_response(slot, reply, plan.route->accept_non_json);
  else
    slot.detail = reply.error_detail;
  return slot;
}

}  // namespace agg::fanout
