#include "aggregator/filters/timing_filter.hpp"

#include "aggregator/http/error_body.hpp"
#include "aggregator/text/json_writer.hpp"

namespace agg::filters {

void timing_filter::on_response(request_context &request, http::response &answer) const {
  std::string timing;
  text::json_writer{timing}
      .raw("total;dur=")
      .number(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - request.started).count(), 3);
  timing += request.timing_entries;
  answer.with_header("Server-Timing", std::move(timing));
  if (answer.json_body()) answer.body = http::with_elapsed(std::move(answer.body), request.started);
}

}  // namespace agg::filters
