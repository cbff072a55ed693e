#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "aggregator/jobs/job_store.hpp"

namespace agg::jobs {

/// The document GET /api/jobs/{id} answers for `v`: id, route, status, progress, the calls finished
/// so far and, once the run is over, the route's response document as `result`.
std::string render(const job_view &v);

/// `document` (one render() made) saying `status` instead, with `reason` beside it (if any): what a replica
/// answers for a job that another one runs, when it knows more than the document (a cancel it
/// passed on, a runner whose lease expired). Nullopt when `document` is not a JSON object.
std::optional<std::string> restated(std::string_view document, std::string_view status, std::string_view reason);

}  // namespace agg::jobs
