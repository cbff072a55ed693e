#include "aggregator/filters/telemetry_filter.hpp"

#include "aggregator/telemetry/trace_exporter.hpp"

namespace agg::filters {

namespace {

std::string_view mode_of(config::endpoint_kind kind) noexcept {
  switch (kind) {
    case config::endpoint_kind::aggregate: return "async";
    case config::endpoint_kind::sync_baseline: return "sync";
    case config::endpoint_kind::stream: return "stream";
  }
  return "async";
}

}  // namespace

void write_server_span(std::string &out, const request_context &request, int status, std::size_t bytes) {
  const telemetry::wall_clock clock;
  const http::trace_context &trace = *request.trace;
  const std::string &method = request.request.method;  // a token the request reader checked
  // Every path the data plane answers is literal: a matched one is its own route template.
  const bool matched = request.match.answer != nullptr;
  thread_local std::string name;
  name.assign(method);
  if (matched) name.append(" ").append(request.path);
  telemetry::span_writer w{out};
  w.begin({.trace_id = trace.trace_id,
           .span_id = trace.span_id,
           .parent_span_id = trace.parent_id,
           .name = name,
           .kind = telemetry::span_kind::server,
           .start_unix_nanos = clock.unix_nanos(request.started),
           .end_unix_nanos = clock.unix_nanos(std::chrono::steady_clock::now())});
  w.text("http.request.method", method);
  w.text("url.path", request.logged_path());
  w.plain("url.scheme", request.secure ? "https" : "http");
  if (matched) w.text("http.route", request.path);
  w.integer("http.response.status_code", status);
  w.integer("http.response.body.size", static_cast<std::int64_t>(bytes));
  w.plain("network.protocol.version", request.request.version == 20   ? "2"
                                      : request.request.version == 10 ? "1.0"
                                                                      : "1.1");
  if (const auto agent = request.request.header("User-Agent")) w.text("user_agent.original", *agent);
  w.text("aggregator.request_id", request.request_id);
  if (request.match.route) {
    w.plain("aggregator.route", request.route);  // lowercase letters, digits, '_', '-'
    w.plain("aggregator.mode", mode_of(request.match.kind));
    w.integer("aggregator.upstream_calls", static_cast<std::int64_t>(request.upstream_calls));
    w.integer("aggregator.upstream_failures", static_cast<std::int64_t>(request.upstream_failures));
  }
  // A server span's 4xx is the client's doing: its status stays unset.
  if (status >= 500) w.plain("error.type", std::to_string(status));
  w.end(status >= 500 ? telemetry::span_status::error : telemetry::span_status::unset);
}

void telemetry_filter::on_complete(const request_context &request, int status, std::size_t bytes) const {
  if (!request.trace || !request.trace->sampled()) return;
  std::string &span = telemetry::trace_exporter::scratch();
  write_server_span(span, request, status, bytes);
  exporter_.offer(span, 1);
}

}  // namespace agg::filters
