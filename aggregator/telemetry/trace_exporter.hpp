#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "aggregator/calls/upstream_call.hpp"
#include "aggregator/config/service_config.hpp"
#include "aggregator/coro/detached.hpp"
#include "aggregator/coro/task.hpp"
#include "aggregator/telemetry/span.hpp"

namespace agg::client {
class upstream_loop;
}

namespace agg::telemetry {

/// The spans export sent, and where they went. Any thread.
struct export_counts {
  std::uint64_t exported = 0;  ///< accepted by the collector (a 2xx)
  std::uint64_t dropped = 0;   ///< never sent: the queue was full (the collector slow, down or away)
  std::uint64_t failed = 0;    ///< sent and not accepted (no answer, not 2xx): lost, not sent again
  std::size_t queued = 0;      ///< waiting now
};

/// OpenTelemetry's batch span processor with an OTLP/HTTP JSON exporter, on the service's own
/// upstream client. A request hands it its finished spans (offer): they are written as JSON on the
/// request's own thread, then appended to the batch being filled under a short lock, never a wait.
/// A batch of `batch` spans is sealed and sent at once from one of the loops, up to
/// max_exports_in_flight exports at a time; what waits in the batch being filled goes every
/// `interval`. At most `max_queue` spans wait;
/// past that a request's spans are dropped and counted, so a collector that is slow, refuses or
/// hangs costs bounded memory and never a request's time.
/// flush() sends what waits at shutdown. Thread-safe; must outlive its loop's thread (the service
/// stops its loops first).
class trace_exporter {
 public:
  /// Exports sent at once: a loop busy with requests moves one export's bytes a round at a time, and
  /// the batches of a busy service would otherwise wait behind it.
  static constexpr unsigned max_exports_in_flight = 4;

  using reporter = std::function<void(bool ok, const std::string &message)>;

  trace_exporter(config::telemetry_config config, std::string service_version, reporter report);
  trace_exporter(const trace_exporter &) = delete;
  trace_exporter &operator=(const trace_exporter &) = delete;

  /// Exports from `loop` from now until the loop stops.
  void start(client::upstream_loop &loop);
  /// Queues `spans` finished spans written as JSON (span_writer): all of them, or, past the queue's
  /// room, none (a request's spans go together). Any thread.
  void offer(std::string_view json, std::size_t spans);
  /// A buffer of the calling thread's to write spans into before offering them (cleared).
  static std::string &scratch();
  /// Sends every span waiting and lets the exports on their way end, waiting at most `limit` (then
  /// what is left is lost). Not from a loop thread.
  void flush(std::chrono::milliseconds limit);

  [[nodiscard]] export_counts counts() const;

 private:
  /// A batch of spans as JSON joined by commas, and how many.
  struct batch {
    std::string json;
    std::size_t spans = 0;
  };
  /// The POST one export makes of `spans` to the config's collector.
  [[nodiscard]] calls::upstream_call export_call(const batch &spans) const;
  /// A drain may start: fewer than max_exports_in_flight run (it then counts as running).
  bool claim_export() noexcept;
  /// The oldest sealed batch; with `all`, the one being filled when none is sealed; else none.
  batch take(bool all);
  coro::detached run(client::upstream_loop &loop);
  coro::detached pump(client::upstream_loop &loop);
  /// Sends while `batch` spans wait (or, `all`, while any does).
  coro::task<void> drain(client::upstream_loop &loop, bool all);
  coro::task<void> send(client::upstream_loop &loop, batch spans);

  config::telemetry_config config_;
  otlp_envelope envelope_;
  reporter report_;
  mutable std::mutex mutex_;
  batch filling_;                  // guarded by mutex_
  std::deque<batch> sealed_;       // full batches, oldest first; guarded by mutex_
  std::size_t waiting_spans_ = 0;  // in both; guarded by mutex_
  std::atomic<client::upstream_loop *> loop_{nullptr};
  std::atomic<unsigned> exporting_{0};  // exports in flight (drains running), max_exports_in_flight at most
  std::atomic<bool> failing_{false};    // the last export failed: reported once, then again when one succeeds
  std::atomic<std::uint64_t> exported_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> failed_{0};
};

}  // namespace agg::telemetry
