#include "aggregator/filters/trace_filter.hpp"

namespace agg::filters {

std::optional<http::response> trace_filter::on_request(exchange &x) const {
  request_context &r = x.request();
  // Two traceparents are no trace (W3C Trace Context, 3.2); tracestate may come in several lines.
  if (r.request.count("traceparent") == 1)
    r.trace = http::continue_trace(r.request.header("traceparent"), r.request.joined("tracestate"));
  if (!r.trace && start_traces_) r.trace = started();
  return std::nullopt;
}

http::trace_context trace_filter::started() const {
  http::trace_context trace = http::start_trace();
  if (!http::sampled_at_ratio(trace.trace_id, sample_ratio_)) trace.flags = "00";
  return trace;
}

void trace_filter::on_response(request_context &request, http::response &answer) const {
  if (!request.trace && start_traces_) request.trace = started();  // a refused request: none was read
  if (request.trace) answer.with_header("traceresponse", request.trace->traceparent());
}

}  // namespace agg::filters
