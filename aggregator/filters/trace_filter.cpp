#include "aggregator/filters/trace_filter.hpp"

namespace agg::filters {

std::optional<http::response> trace_filter::on_request(exchange &x) const {
  request_context &r = x.request();
  r.trace = http::continue_trace(r.request.header("traceparent"), r.request.header("tracestate"));
  if (!r.trace && start_traces_) r.trace = http::start_trace();
  return std::nullopt;
}

void trace_filter::on_response(request_context &request, http::response &answer) const {
  if (request.trace) answer.with_header("traceresponse", request.trace->traceparent());
}

}  // namespace agg::filters
