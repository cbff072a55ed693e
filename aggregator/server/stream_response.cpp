#include "aggregator/server/stream_response.hpp"

#include <httplib.h>

#include <chrono>
#include <string>

#include "aggregator/fanout/render.hpp"

namespace agg::server {

namespace {

/// What the provider and the releaser share; cpp-httplib copies both functions, so they hold it.
struct stream_state {
  std::shared_ptr<fanout::background_aggregation> run;
  bool sse = false;
  std::shared_ptr<void> held;
};

std::string frame(const std::string &json, bool sse, const char *event) {
  if (!sse) return json + "\n";
  return std::string{"event: "} + event + "\ndata: " + json + "\n\n";
}

}  // namespace

void stream_results(httplib::Response &response, std::shared_ptr<fanout::background_aggregation> run, bool sse,
                    std::shared_ptr<void> held) {
  auto state = std::make_shared<stream_state>(stream_state{std::move(run), sse, std::move(held)});
  response.status = 200;
  if (sse) response.set_header("Cache-Control", "no-cache");
  response.set_chunked_content_provider(
      sse ? "text/event-stream" : "application/x-ndjson",
      [state](size_t /*offset*/, httplib::DataSink &sink) {
        // Wait for the next result; wake once a second so a stopping server is noticed.
        const auto arrival = state->run->next(std::chrono::steady_clock::now() + std::chrono::seconds{1});
        if (arrival) {
          const std::string line =
              frame(fanout::render_arrival(arrival->index, arrival->result), state->sse, "upstream");
          return sink.write(line.data(), line.size());  // false: the client is gone
        }
        if (!state->run->done()) return true;  // nothing yet: cpp-httplib calls again
        const std::string last = frame(fanout::render_summary(*state->run->result()), state->sse, "summary");
        if (!sink.write(last.data(), last.size())) return false;
        sink.done();
        return true;
      },
      [state](bool success) {
        if (!success) state->run->cancel();  // the client left or the server stopped: stop the calls
        state->held.reset();
      });
}

}  // namespace agg::server
