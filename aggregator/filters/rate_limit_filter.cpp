#include "aggregator/filters/rate_limit_filter.hpp"

#include <charconv>
#include <cmath>

#include "aggregator/coro/detached.hpp"
#include "aggregator/quota/shared_rate_limiter.hpp"

namespace agg::filters {

namespace {

using seconds = std::chrono::duration<double>;

long long whole_seconds_up(seconds s) { return static_cast<long long>(std::ceil(std::max(0.0, s.count()))); }

std::string number_text(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  std::string text = std::to_string(v);
  while (text.back() == '0') text.pop_back();
  return text;
}

/// `"requests";q=10;w=1`: a limit as the IETF RateLimit-Policy header names it (q units per w s).
std::string policy_item(std::string_view name, const quota::rate &r) {
  std::string item{"\""};
  item += name;
  item += "\";q=";
  item += number_text(std::floor(r.burst));
  item += ";w=";
  item += std::to_string(std::max(1LL, whole_seconds_up(seconds{r.burst / r.per_second})));
  return item;
}

/// Appends `item` to a structured-field list (RFC 8941): `, ` between items.
void append_item(std::string &list, std::string_view item) {
  if (!list.empty()) list += ", ";
  list += item;
}

/// Adds a limit's items to the answer's RateLimit-Policy and RateLimit: its `policy`, and what is
/// left of it now and when it is whole again, `"requests";r=3;t=1`.
void add_headers(request_context &r, std::string_view policy, std::string_view name, const quota::decision &d) {
  append_item(r.rate_limit_policy, policy);
  std::string &out = r.rate_limit;
  const auto number = [&out](long long value) {
    char digits[24];
    out.append(digits, std::to_chars(digits, digits + sizeof digits, value).ptr);
  };
  if (!out.empty()) out += ", ";
  out += '"';
  out += name;
  out += "\";r=";
  number(static_cast<long long>(std::floor(d.remaining)));
  out += ";t=";
  number(whole_seconds_up(d.reset));
}

std::string_view key_kind(const config::rate_limit_policy &limit) {
  switch (limit.key) {
    case config::limit_key::client: return "client";
    case config::limit_key::ip: return "client address";
    case config::limit_key::route: return "route";
    case config::limit_key::header: return "value of the request's header";
  }
  return "client";
}

/// The 429 for a charge `d` refused.
http::response refusal(request_context &r, const config::route_config &route, std::string_view name,
                       const std::string &policy, const quota::rate &rate, const quota::decision &d,
                       std::size_t units) {
  const config::rate_limit_policy &limit = *route.rate_limit;
  const std::string terms = number_text(rate.per_second) + " " + std::string{name} + " per second (bursts of " +
                            number_text(rate.burst) + ") per " + std::string{key_kind(limit)};
  std::string message;
  if (d.never_fits)
    message = "this request makes " + std::to_string(units) + " upstream calls; route " + route.name + " allows " +
              terms + ", so it can never be admitted: ask for fewer (num)";
  else
    message = "route " + route.name + " allows " + terms + "; retry in " +
              std::to_string(std::max(1LL, whole_seconds_up(d.retry_after))) + " s";
  http::response refused =
      http::response::error(429, name == "requests" ? "rate_limited" : "calls_rate_limited", message);
  if (d.never_fits) {  // no wait helps: the policy, and no Retry-After or state
    append_item(r.rate_limit_policy, policy);
    return refused;
  }
  refused.with_header("Retry-After", std::to_string(std::max(1LL, whole_seconds_up(d.retry_after))));
  add_headers(r, policy, name, d);
  return refused;
}

}  // namespace

std::shared_ptr<const rate_limit_filter::route_limits> rate_limit_filter::limits_of(
    const config::route_config &route) const {
  const config::rate_limit_policy &limit = *route.rate_limit;
  const auto terms = std::tuple{limit.requests_per_s, limit.burst, limit.calls_per_s, limit.burst_calls};
  const std::lock_guard lock{mutex_};
  std::shared_ptr<const route_limits> &current = limits_[route.name];
  if (current && current->max_keys == limit.max_keys && current->terms == terms) return current;
  // New, or changed: new terms keep the counts (the limiters), a new max_keys starts afresh.
  auto fresh = std::make_shared<route_limits>();
  fresh->max_keys = limit.max_keys;
  const bool same_keys = current && current->max_keys == limit.max_keys;
  fresh->requests = same_keys ? current->requests : std::make_shared<quota::rate_limiter>(limit.max_keys, now_);
  fresh->calls = same_keys ? current->calls : std::make_shared<quota::rate_limiter>(limit.max_keys, now_);
  fresh->terms = terms;
  if (limit.requests_per_s > 0) fresh->requests_policy = policy_item("requests", {limit.requests_per_s, limit.burst});
  if (limit.calls_per_s > 0) fresh->calls_policy = policy_item("calls", {limit.calls_per_s, limit.burst_calls});
  current = std::move(fresh);
  return current;
}

bool rate_limit_filter::keyed_by_address(const config::route_config &route, const request_context &request) {
  const auto &limit = *route.rate_limit;
  return limit.key == config::limit_key::ip || (limit.key == config::limit_key::client && !request.identity);
}

namespace {

/// The limit's key for `r`: who or what it counts.
std::string key_of(const config::rate_limit_policy &limit, const request_context &r, const std::string &address) {
  switch (limit.key) {
    case config::limit_key::client: return r.identity ? r.identity->label() : "ip:" + address;
    case config::limit_key::ip: return "ip:" + address;
    case config::limit_key::route: return "route";
    case config::limit_key::header: return "header:" + std::string{r.request.header(limit.header).value_or("")};
  }
  return "route";
}

/// Waits for the shared decision off the filter chain, then answers or goes on.
coro::detached admit_then_proceed(const rate_limit_filter &filter, exchange x, std::string address) {
  config::route_ptr route = x.request().match.route;
  const std::size_t loop = x.loop()->index();
  std::optional<http::response> refused =
      co_await filter.admit(x.request(), std::move(route), std::move(address), loop);
  if (refused) co_return x.respond(std::move(*refused));
  std::move(x).proceed();
}

}  // namespace

std::optional<http::response> rate_limit_filter::on_request(exchange &x) const {
  const config::route_ptr &route = x.request().match.route;
  if (!route || !route->rate_limit) return std::nullopt;
  std::string address = keyed_by_address(*route, x.request()) ? x.client_address() : std::string{};
  if (shared_ == nullptr || x.loop() == nullptr) return admit_here(x.request(), route, address);
  admit_then_proceed(*this, std::move(x), std::move(address));
  return std::nullopt;
}

std::optional<http::response> rate_limit_filter::settle(request_context &r, const config::route_config &route,
                                                        const route_limits &limits, bool calls, const quota::rate &rate,
                                                        const quota::decision &d, std::size_t units) const {
  const std::string_view name = calls ? "calls" : "requests";
  const std::string &policy = calls ? limits.calls_policy : limits.requests_policy;
  if (!d.admitted) {
    stats_.record_rejection(route.name, calls ? "rate_limited_calls" : "rate_limited");
    return refusal(r, route, name, policy, rate, d, units);
  }
  add_headers(r, policy, name, d);
  return std::nullopt;
}

std::optional<http::response> rate_limit_filter::admit_here(request_context &r, const config::route_ptr &route,
                                                            const std::string &client_address) const {
  const config::rate_limit_policy &limit = *route->rate_limit;
  std::string key = key_of(limit, r, client_address);
  const std::shared_ptr<const route_limits> limits = limits_of(*route);
  if (limit.requests_per_s > 0) {
    const quota::rate rate{limit.requests_per_s, limit.burst};
    if (auto refused = settle(r, *route, *limits, false, rate, limits->requests->charge(key, 1, rate), 1))
      return refused;
  }
  if (limit.calls_per_s > 0) {
    r.charge_calls = [this, limits, key = std::move(key), route](
                         request_context &self, std::size_t count) -> coro::task<std::optional<http::response>> {
      const quota::rate rate{route->rate_limit->calls_per_s, route->rate_limit->burst_calls};
      co_return settle(self, *route, *limits, true, rate, limits->calls->charge(key, static_cast<double>(count), rate),
                       count);
    };
  }
  return std::nullopt;
}

void rate_limit_filter::note_shared(bool answered) const {
  if (falling_back_.exchange(!answered, std::memory_order_relaxed) == !answered) return;  // as before
  if (log_ == nullptr) return;
  if (answered)
    log_->event(config::log_config::level::info,
                "rate limits: Redis answers again; limits are shared by every replica");
  else
    log_->event(config::log_config::level::warn,
                shared_->config().limits_on_failure == config::store_config::on_failure::local
                    ? "rate limits: Redis does not answer; each replica limits on its own (store.on_failure: local)"
                    : "rate limits: Redis does not answer; limited requests get 503 (store.on_failure: deny)");
}

coro::task<std::variant<quota::decision, http::response>> rate_limit_filter::decide(
    const config::route_config &route, quota::rate_limiter &limiter, const std::string &key, double units,
    quota::rate rate, std::string_view limit_name, std::size_t loop) const {
  const std::string shared_key = shared_->key("rl:" + route.name + ":" + std::string{limit_name} + ":" + key);
  std::optional<quota::decision> d =
      co_await quota::shared_rate_limiter::charge(shared_->link(loop), shared_key, units, rate);
  note_shared(d.has_value());
  if (d) co_return *d;
  fallbacks_.fetch_add(1, std::memory_order_relaxed);
  if (shared_->config().limits_on_failure == config::store_config::on_failure::local)
    co_return limiter.charge(key, units, rate);
  http::response unavailable =
      http::response::error(503, "rate_limit_unavailable",
                            "route " + route.name +
                                " is rate limited across replicas and the limit's store (Redis) does not answer; "
                                "retry shortly");
  co_return std::move(unavailable.with_header("Retry-After", "1"));
}

coro::task<std::optional<http::response>> rate_limit_filter::admit(request_context &r, config::route_ptr route,
                                                                   std::string client_address, std::size_t loop) const {
  if (shared_ == nullptr) co_return admit_here(r, route, client_address);
  const config::rate_limit_policy &limit = *route->rate_limit;
  std::string key = key_of(limit, r, client_address);
  const std::shared_ptr<const route_limits> limits = limits_of(*route);
  if (limit.requests_per_s > 0) {
    const quota::rate rate{limit.requests_per_s, limit.burst};
    auto decided = co_await decide(*route, *limits->requests, key, 1, rate, "requests", loop);
    if (auto *answer = std::get_if<http::response>(&decided)) co_return std::move(*answer);
    if (auto refused = settle(r, *route, *limits, false, rate, std::get<quota::decision>(decided), 1))
      co_return refused;
  }
  if (limit.calls_per_s > 0) {
    r.charge_calls = [this, limits, key = std::move(key), route, loop](
                         request_context &self, std::size_t count) -> coro::task<std::optional<http::response>> {
      const quota::rate rate{route->rate_limit->calls_per_s, route->rate_limit->burst_calls};
      auto decided = co_await decide(*route, *limits->calls, key, static_cast<double>(count), rate, "calls", loop);
      if (auto *answer = std::get_if<http::response>(&decided)) co_return std::move(*answer);
      co_return settle(self, *route, *limits, true, rate, std::get<quota::decision>(decided), count);
    };
  }
  co_return std::nullopt;
}

void rate_limit_filter::on_response(request_context &request, http::response &answer) const {
  if (!request.rate_limit_policy.empty()) answer.with_header("RateLimit-Policy", std::move(request.rate_limit_policy));
  if (!request.rate_limit.empty()) answer.with_header("RateLimit", std::move(request.rate_limit));
}

}  // namespace agg::filters
