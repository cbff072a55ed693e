#include "aggregator/filters/access_log_filter.hpp"

namespace agg::filters {

void access_log_filter::on_complete(const request_context &request, int status, std::size_t bytes) const {
  const auto took = std::chrono::steady_clock::now() - request.started;
  stats_.record_request(request.route, status, took);
  const auto &trace = request.trace;
  const std::string identity = request.identity ? request.identity->label() : std::string{};
  log_.access({request.request_id, request.request.method.empty() ? "-" : std::string_view{request.request.method},
               request.logged_path().empty() ? "-" : std::string_view{request.logged_path()}, request.route, status,
               bytes, took, request.upstream_calls, request.upstream_failures,
               trace ? std::string_view{trace->trace_id} : std::string_view{},
               trace ? std::string_view{trace->span_id} : std::string_view{},
               trace ? std::string_view{trace->parent_id} : std::string_view{}, identity});
}

}  // namespace agg::filters
