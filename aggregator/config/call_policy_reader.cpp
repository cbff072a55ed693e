#include "aggregator/config/call_policy_reader.hpp"

#include <charconv>

namespace agg::config {

namespace json = boost::json;

namespace {

constexpr std::pair<std::string_view, retry_on> failure_names[] = {{"connect", retry_on::connect},
                                                                   {"timeout", retry_on::timeout},
                                                                   {"http_5xx", retry_on::http_5xx},
                                                                   {"http_429", retry_on::http_429},
                                                                   {"transport", retry_on::transport}};

/// `false` at `key`: the behaviour is off here (an entry turning off its route's).
bool turned_off(const json::object &o, std::string_view key) {
  const json::value *v = o.if_contains(key);
  return v != nullptr && v->is_bool() && !v->get_bool();
}

void read_retry(config_checker &c, const json::value &v, const std::string &path, retry_policy &out) {
  const json::object *o = c.object(v, path, {"attempts", "backoff_ms", "on", "budget"});
  if (o == nullptr) return;
  c.integer(*o, path, "attempts", out.attempts, 1, 10);
  c.millis(*o, path, "backoff_ms", out.backoff, 0, 60'000);
  if (const json::value *on = o->if_contains("on")) {
    if (const json::array *a = c.strings(*on, child(path, "on"))) {
      out.on = 0;
      for (std::size_t i = 0; i < a->size(); ++i) {
        const json::string *name = (*a)[i].if_string();
        const auto *found = name == nullptr ? nullptr
                                            : std::find_if(std::begin(failure_names), std::end(failure_names),
                                                           [name](const auto &f) { return f.first == *name; });
        if (found == nullptr || found == std::end(failure_names))
          c.fail(element(child(path, "on"), i), "must be connect, timeout, http_5xx, http_429 or transport");
        else
          out.on |= static_cast<unsigned>(found->second);
      }
    }
  }
}

/// The budget terms of a `retry` object (its `budget` member; the defaults without one).
budget_policy read_budget(config_checker &c, const json::value &retry, const std::string &path) {
  budget_policy out;
  const json::value *budget = retry.is_object() ? retry.get_object().if_contains("budget") : nullptr;
  if (budget == nullptr) return out;
  const std::string budget_path = child(path, "budget");
  if (const json::object *b = c.object(*budget, budget_path, {"ratio", "min_per_second", "window_ms"})) {
    c.number(*b, budget_path, "ratio", out.ratio, 0, 10);
    c.integer(*b, budget_path, "min_per_second", out.floor, 0, 100'000);
    c.millis(*b, budget_path, "window_ms", out.window, 1'000, 600'000);
  }
  return out;
}

/// `p95`, `p99.9`: the percentile as a fraction.
std::optional<double> percentile(std::string_view text) {
  if (!text.starts_with("p") || text.size() < 2) return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data() + 1, text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value <= 0 || value >= 100) return std::nullopt;
  return value / 100;
}

void read_hedge(config_checker &c, const json::value &v, const std::string &path, hedge_policy &out) {
  const json::object *o = c.object(v, path, {"after_ms", "after", "max_extra"});
  if (o == nullptr) return;
  c.millis(*o, path, "after_ms", out.after, 1, 60'000);
  if (const auto after = c.text(*o, path, "after", false)) {
    out.after_percentile = percentile(*after);
    if (!out.after_percentile) c.fail(child(path, "after"), "must be a percentile of the origin's latency, e.g. p95");
  }
  c.integer(*o, path, "max_extra", out.max_extra, 1, 3);
}

void read_breaker(config_checker &c, const json::value &v, const std::string &path, breaker_policy &out) {
  const json::object *o = c.object(v, path, {"failures", "ratio", "min_calls", "window_ms", "open_ms"});
  if (o == nullptr) return;
  c.integer(*o, path, "failures", out.failures, 1, 100'000);
  c.number(*o, path, "ratio", out.ratio, 0.01, 1);
  c.integer(*o, path, "min_calls", out.min_calls, 1, 1'000'000);
  c.millis(*o, path, "window_ms", out.window, 100, 3'600'000);
  c.millis(*o, path, "open_ms", out.open, 1, 3'600'000);
}

void read_cache(config_checker &c, const json::value &v, const std::string &path, cache_policy &out) {
  const json::object *o =
      c.object(v, path, {"ttl_ms", "max_bytes", "honor_cache_control", "stale_if_error_ms", "shared"});
  if (o == nullptr) return;
  c.millis(*o, path, "ttl_ms", out.ttl, 1, 7 * 24 * 3'600'000LL);
  c.integer(*o, path, "max_bytes", out.max_bytes, 1, 1LL << 34);
  c.boolean(*o, path, "honor_cache_control", out.honor_cache_control);
  c.millis(*o, path, "stale_if_error_ms", out.stale_if_error, 0, 7 * 24 * 3'600'000LL);
  c.boolean(*o, path, "shared", out.shared);
}

/// One optional behaviour at `key`: an object sets it (starting from the defaults), `false` clears it.
template <typename Policy, typename Reader>
void read_optional(config_checker &c, const json::object &o, const std::string &path, std::string_view key,
                   std::optional<Policy> &out, Reader read) {
  const json::value *v = o.if_contains(key);
  if (v == nullptr) return;
  if (turned_off(o, key)) {
    c.shape(v, {{"const", false}});
    out.reset();
    return;
  }
  Policy policy;
  read(c, *v, child(path, key), policy);
  out = policy;
}

}  // namespace

void read_call_policy(config_checker &c, const json::object &o, const std::string &path, call_policy &out,
                      bool inherited) {
  read_optional(c, o, path, "retry", out.retry, read_retry);
  if (const json::value *retry = o.if_contains("retry"); retry != nullptr && out.retry)
    out.budget = read_budget(c, *retry, child(path, "retry"));
  read_optional(c, o, path, "hedge", out.hedge, read_hedge);
  // Retries and hedges draw from one budget: a retry's terms, or the defaults under hedging alone.
  if (!out.retry && !out.hedge)
    out.budget.reset();
  else if (!out.retry || !out.budget)
    out.budget = budget_policy{};
  read_optional(c, o, path, "breaker", out.breaker, read_breaker);
  read_optional(c, o, path, "cache", out.cache, read_cache);
  // `true`/`false`, or {"across_replicas": bool}: coalesced, and across replicas too when it says so.
  if (const json::value *v = o.if_contains("coalesce"); v != nullptr && v->is_object()) {
    const std::string at = child(path, "coalesce");
    if (const json::object *across = c.object(*v, at, {"across_replicas"})) {
      out.coalesce = true;
      out.coalesce_across_replicas = false;
      c.boolean(*across, at, "across_replicas", out.coalesce_across_replicas);
    }
  } else {
    c.boolean(o, path, "coalesce", out.coalesce, inherited);
    if (v != nullptr) out.coalesce_across_replicas = false;  // `true` alone: on this replica only
  }
}

}  // namespace agg::config
