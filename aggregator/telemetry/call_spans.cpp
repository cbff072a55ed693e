#include "aggregator/telemetry/call_spans.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <vector>

namespace agg::telemetry {

namespace {

/// What a span says of an origin (scheme://authority): url.full's start (credentials replaced, as
/// the conventions require), server.address and server.port. Boost.URL reads it, once per origin
/// of an aggregation.
struct origin_facts {
  std::string origin;
  std::string shown;
  std::string host;
  std::int64_t port = 0;
};

const origin_facts &facts_of(std::vector<origin_facts> &known, std::string_view origin) {
  for (const auto &facts : known)
    if (facts.origin == origin) return facts;
  origin_facts &facts = known.emplace_back(origin_facts{std::string{origin}, {}, {}, 0});
  if (const auto parsed = boost::urls::parse_uri(origin)) {
    facts.shown.append(parsed->scheme()).append("://");
    if (parsed->has_userinfo()) facts.shown.append("REDACTED:REDACTED@");
    facts.shown.append(parsed->encoded_host_and_port());
    facts.host = parsed->encoded_host();
    facts.port = parsed->has_port() ? parsed->port_number() : (parsed->scheme() == "https" ? 443 : 80);
  } else {
    facts.shown = origin;
  }
  return facts;
}

/// url.full without its query and fragment (they may carry what a trace should not keep),
/// server.address and server.port.
void describe_url(span_writer &w, const std::string &url, std::vector<origin_facts> &known) {
  // One pass each (find_first_of asks memchr once per character).
  const auto upto = [&url](std::size_t from, auto stop) {
    return static_cast<std::size_t>(std::find_if(url.begin() + static_cast<std::ptrdiff_t>(from), url.end(), stop) -
                                    url.begin());
  };
  const std::size_t scheme_end = url.find("://");
  const std::size_t origin_end = scheme_end == std::string::npos
                                     ? 0
                                     : upto(scheme_end + 3, [](char c) { return c == '/' || c == '?' || c == '#'; });
  const std::size_t path_end = upto(origin_end, [](char c) { return c == '?' || c == '#'; });
  const origin_facts &facts = facts_of(known, std::string_view{url}.substr(0, origin_end));
  thread_local std::string full;
  full.assign(facts.shown).append(url, origin_end, path_end - origin_end);
  w.text("url.full", full);
  if (facts.port != 0) {
    w.text("server.address", facts.host);
    w.integer("server.port", facts.port);
  }
}

void write_call_span(span_writer &w, const http::trace_context &trace, const fanout::aggregate &result,
                     const fanout::upstream_result &r, const wall_clock &clock, std::vector<origin_facts> &origins) {
  const auto started = result.started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(r.start_offset);
  const std::uint64_t start = clock.unix_nanos(started);
  const std::uint64_t end =
      clock.unix_nanos(started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(r.duration));
  const std::array<char, 16> span_id = trace.call_span_hex(r.entry, r.item);
  w.begin({.trace_id = trace.trace_id,
           .span_id = {span_id.data(), span_id.size()},
           .parent_span_id = trace.span_id,
           .name = r.method,
           .kind = span_kind::client,
           .start_unix_nanos = start,
           .end_unix_nanos = end});
  w.plain("http.request.method", r.method);  // a literal
  describe_url(w, r.url, origins);
  if (r.status != 0) w.integer("http.response.status_code", r.status);
  const bool ok = r.kind == calls::outcome_kind::ok;
  if (!ok) {
    // error.type: the status code for an HTTP error, else what went wrong (timeout, connect, ...).
    const std::string_view outcome = calls::to_string(r.kind);
    w.plain("aggregator.outcome", outcome);
    if (r.kind == calls::outcome_kind::http_status)
      w.plain("error.type", std::to_string(r.status));
    else
      w.plain("error.type", outcome);
  }
  w.integer("aggregator.entry", static_cast<std::int64_t>(r.entry));
  if (!r.name.empty()) w.plain("aggregator.entry.name", r.name);  // lowercase letters, digits, '_', '-'
  const bool resent = r.attempts && *r.attempts > 1 && !r.hedged;
  if (r.attempts) w.integer("aggregator.attempts", *r.attempts);
  if (resent) w.integer("http.request.resend_count", *r.attempts - 1);
  if (r.cache != stages::cache_state::none) w.plain("aggregator.cache", stages::to_string(r.cache));
  if (r.coalesced) w.boolean("aggregator.coalesced", true);
  if (r.queued.count() > 0)
    w.integer("aggregator.queued_ms", std::chrono::round<std::chrono::milliseconds>(r.queued).count());
  // The stages report what they did, not when: each event stands at the end of the call.
  if (resent) w.event("retry", end, "aggregator.attempts", *r.attempts);
  if (r.hedged) w.event(*r.hedged == 0 ? "hedge sent" : "hedge won", end, "aggregator.winning_attempt", *r.hedged);
  if (r.kind == calls::outcome_kind::circuit_open) w.event("breaker open", start);
  w.end(ok ? span_status::unset : span_status::error, ok ? std::string_view{} : std::string_view{r.detail});
}

}  // namespace

std::size_t write_call_spans(std::string &out, const http::trace_context &trace, const fanout::aggregate &result,
                             const wall_clock &clock) {
  span_writer w{out};
  std::vector<origin_facts> origins;
  for (const auto &r : result.results) write_call_span(w, trace, result, r, clock, origins);
  return result.results.size();
}

}  // namespace agg::telemetry
