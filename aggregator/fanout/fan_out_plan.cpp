#include "aggregator/fanout/fan_out_plan.hpp"

#include <charconv>

#include <boost/json/parse.hpp>

#include <algorithm>

#include "aggregator/config/route_definition.hpp"
#include "aggregator/fanout/entry_calls.hpp"
#include "aggregator/http/call_marks.hpp"
#include "aggregator/text/character_rules.hpp"

namespace agg::fanout {

namespace {

request_error bad_parameter(std::string message) { return {400, "invalid_parameter", std::move(message)}; }

std::string accepted_names(const config::route_config &route) {
  std::string names = "timeout_ms";
  if (route.num) names += ", num";
  for (const auto &[name, spec] : route.params) names += ", " + name;
  return names;
}

/// The value of `num`: digits only, from 1 to the route's maximum.
std::variant<std::size_t, request_error> read_count(const config::count_limits &limits, const std::string *text) {
  if (text == nullptr) return limits.default_count;
  const std::string range = "from 1 to " + std::to_string(limits.max_count);
  std::size_t count = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), count);
  if (text->empty() || ec == std::errc::invalid_argument || end != text->data() + text->size())
    return bad_parameter("num must be a whole number " + range + ", got '" + *text + "'");
  if (ec == std::errc::result_out_of_range || count > limits.max_count)
    return bad_parameter("num must not exceed " + std::to_string(limits.max_count) + " on this route, got " + *text);
  if (count < 1) return bad_parameter("num must be a whole number " + range + ", got " + *text);
  return count;
}

/// The request's own time limit: a whole number of milliseconds, at most the route's deadline.
std::variant<std::chrono::milliseconds, request_error> read_time_limit(const config::route_config &route,
                                                                       const std::string *text) {
  if (text == nullptr) return route.deadline;
  const auto ms = text::whole_number(*text, 1, static_cast<unsigned long long>(route.deadline.count()));
  if (!ms)
    return bad_parameter("timeout_ms must be a whole number of milliseconds from 1 to " +
                         std::to_string(route.deadline.count()) + " (it can only shorten this route's limits), got '" +
                         *text + "'");
  return std::chrono::milliseconds{*ms};
}

/// The "Name: value" lines of the request headers the route forwards.
std::variant<std::vector<std::string>, request_error> forwarded_headers(const config::route_config &route,
                                                                        const header_lookup &headers) {
  std::vector<std::string> lines;
  if (!headers) return lines;
  for (const auto &name : route.forward_headers) {
    if (http::is_call_mark(name)) continue;  // the plan's own: never the caller's as they came
    const auto from_claims = [&name](const auto &pair) { return text::equal_ignoring_case(pair.first, name); };
    if (std::any_of(route.claims_to_headers.begin(), route.claims_to_headers.end(), from_claims))
      continue;  // what the verified token says, never a copy the client forged
    const auto value = headers(name);
    if (!value) continue;
    if (text::breaks_header_line(*value))
      return bad_parameter("header " + name + " holds a control character (a line break, NUL, ...)");
    lines.push_back(name + ": " + *value);
  }
  return lines;
}

/// The route's claims_to_headers lines, from the caller's verified claims: a claim the token lacks
/// is no header; one that is not a string, number or boolean, or would break the line, is a 400.
std::optional<request_error> add_claim_headers(const config::route_config &route, plan_inputs &inputs) {
  if (route.claims_to_headers.empty() || !inputs.claims) return std::nullopt;
  for (const auto &[name, pointer] : route.claims_to_headers) {
    boost::system::error_code ec;
    const boost::json::value *v = inputs.claims->find_pointer(pointer, ec);
    if (v == nullptr) continue;
    const auto value = scalar_text(*v);
    if (!value)
      return request_error{
          400, "invalid_claims",
          "the token's claim at " + pointer + " (for header " + name + ") is not a string, number or boolean"};
    if (text::breaks_header_line(*value))
      return request_error{400, "invalid_claims", "the token's claim at " + pointer + " holds a control character"};
    inputs.header_lines.push_back(name + ": " + *value);
  }
  return std::nullopt;
}

}  // namespace

std::variant<fan_out_plan, request_error> make_plan(config::route_ptr shared_route, const query_params &query,
                                                    const header_lookup &headers, std::string_view body,
                                                    call_marks marks) {
  const config::route_config &route = *shared_route;
  const auto now = std::chrono::steady_clock::now();
  const std::string *num_text = nullptr;
  const std::string *time_limit_text = nullptr;
  fan_out_plan plan;
  plan_inputs &inputs = plan.inputs;
  for (auto it = query.begin(); it != query.end(); it = query.upper_bound(it->first)) {
    const std::string &name = it->first;
    const bool is_num = route.num && name == "num";
    const auto spec = route.params.find(name);
    if (name != "timeout_ms" && !is_num && spec == route.params.end())
      return bad_parameter("unknown parameter '" + name + "'; this route accepts: " + accepted_names(route));
    if (query.count(name) > 1) return bad_parameter("parameter '" + name + "' is given more than once");
    if (name == "timeout_ms") {
      time_limit_text = &it->second;
    } else if (is_num) {
      num_text = &it->second;
    } else {
      if (it->second.size() > spec->second.max_length)
        return bad_parameter("parameter '" + name + "' is longer than " + std::to_string(spec->second.max_length) +
                             " characters");
      inputs.params.emplace(name, it->second);
    }
  }
  for (const auto &[name, spec] : route.params) {
    if (inputs.params.contains(name)) continue;
    if (!spec.default_value) return bad_parameter("parameter '" + name + "' is required");
    inputs.params.emplace(name, *spec.default_value);
  }

  if (route.num) {
    auto read = read_count(*route.num, num_text);
    if (auto *error = std::get_if<request_error>(&read)) return std::move(*error);
    inputs.count = std::get<std::size_t>(read);
  }

  auto limit = read_time_limit(route, time_limit_text);
  if (auto *error = std::get_if<request_error>(&limit)) return std::move(*error);
  const auto time_limit = std::get<std::chrono::milliseconds>(limit);
  auto header_lines = forwarded_headers(route, headers);
  if (auto *error = std::get_if<request_error>(&header_lines)) return std::move(*error);
  inputs.header_lines = std::get<std::vector<std::string>>(std::move(header_lines));
  inputs.call_timeout = std::min(route.timeout, time_limit);
  inputs.timeout_by_client = inputs.call_timeout < route.timeout;
  inputs.trace = std::move(marks.trace);
  inputs.header_lines.insert(inputs.header_lines.end(), marks.header_lines.begin(), marks.header_lines.end());
  inputs.claims = std::move(marks.claims);
  inputs.api_key_name = std::move(marks.api_key_name);
  if (auto error = add_claim_headers(route, inputs)) return std::move(*error);
  if (route.takes_body) {
    boost::system::error_code ec;
    inputs.body_value = boost::json::parse(body, ec);
    if (body.empty()) return request_error{400, "invalid_body", "this route takes a JSON request body (POST it)"};
    if (ec) return request_error{400, "invalid_body", "the request body is not JSON: " + ec.message()};
    inputs.body = std::string{body};
  }

  plan.route = std::move(shared_route);
  plan.deadline = now + time_limit;
  plan.budget = std::make_shared<calls::byte_budget>(plan.route->max_response_bytes);
  const entry_values none = [](std::size_t) -> const boost::json::value * { return nullptr; };
  for (std::size_t e = 0; e < route.upstreams.size(); ++e) {
    if (route.upstreams[e].chained()) continue;  // planned by run_plan once what it uses is done
    // Only a value from the request's own body can be missing here, the client's mistake; or the
    // calls would pass max_calls, which the config check rules out for a route's own entries.
    if (const auto failure = plan_entry(plan, e, none))
      return failure->kind == calls::outcome_kind::too_many_items
                 ? request_error{422, "too_many_calls", failure->message}
                 : request_error{400, "invalid_body", failure->message};
  }
  return plan;
}

std::size_t calls_to_charge(const fan_out_plan &plan) {
  std::size_t calls = plan.calls.size();
  for (const auto &entry : plan.route->upstreams)
    if (entry.chained()) calls += config::most_calls_of(entry, *plan.route);
  return calls;
}

}  // namespace agg::fanout
