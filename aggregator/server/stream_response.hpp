#pragma once

#include <memory>

#include "aggregator/fanout/background_aggregation.hpp"
#include "aggregator/server/httplib_fwd.hpp"

namespace agg::server {

/// Makes `response` a chunked stream of `run`'s results as they arrive: NDJSON (one JSON object
/// per line: each upstream, then a summary), or the same objects as Server-Sent Events when `sse`.
/// cpp-httplib writes it on the same worker after the handler returns. A client that goes away,
/// or a stream that ends early for any reason, cancels `run`. `held` is kept until the stream is
/// over, then released (registrations, in-flight counts).
void stream_results(httplib::Response &response, std::shared_ptr<fanout::background_aggregation> run, bool sse,
                    std::shared_ptr<void> held);

}  // namespace agg::server
