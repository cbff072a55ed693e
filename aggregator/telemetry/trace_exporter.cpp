#include "aggregator/telemetry/trace_exporter.hpp"

#include <future>
#include <memory>
#include <utility>

#include "aggregator/client/upstream_loop.hpp"

namespace agg::telemetry {

namespace {

/// What a collector answers is read no further than this (a partial-success message).
constexpr std::size_t max_answer_bytes = 64 * 1024;

}  // namespace

trace_exporter::trace_exporter(config::telemetry_config config, std::string service_version, reporter report)
    : config_(std::move(config)),
      envelope_(envelope_of({config_.service_name, std::move(service_version)})),
      report_(std::move(report)) {}

void trace_exporter::start(client::upstream_loop &loop) {
  loop_.store(&loop, std::memory_order_release);
  run(loop);
}

bool trace_exporter::claim_export() noexcept {
  unsigned now = exporting_.load(std::memory_order_acquire);
  while (now < max_exports_in_flight)
    if (exporting_.compare_exchange_weak(now, now + 1, std::memory_order_acq_rel)) return true;
  return false;
}

std::string &trace_exporter::scratch() {
  thread_local std::string buffer;  // keeps its room: writing a request's spans allocates nothing
  buffer.clear();
  return buffer;
}

void trace_exporter::offer(std::string_view json, std::size_t spans) {
  if (spans == 0) return;
  bool sealed = false;
  {
    const std::lock_guard lock{mutex_};
    if (waiting_spans_ + spans > config_.max_queue) {
      dropped_.fetch_add(spans, std::memory_order_relaxed);
      return;
    }
    if (!filling_.json.empty()) filling_.json += ',';
    filling_.json.append(json);
    filling_.spans += spans;
    waiting_spans_ += spans;
    if (filling_.spans >= config_.batch) {
      const std::size_t size = filling_.json.size();
      sealed_.push_back(std::exchange(filling_, {}));
      filling_.json.reserve(size);  // the next batch is about as large: one allocation
      sealed = true;
    }
  }
  client::upstream_loop *loop = loop_.load(std::memory_order_acquire);
  if (sealed && loop != nullptr && claim_export()) pump(*loop);
}

trace_exporter::batch trace_exporter::take(bool all) {
  const std::lock_guard lock{mutex_};
  batch taken;
  if (!sealed_.empty()) {
    taken = std::move(sealed_.front());
    sealed_.pop_front();
  } else if (all && filling_.spans > 0) {
    taken = std::exchange(filling_, {});
  }
  waiting_spans_ -= taken.spans;
  return taken;
}

export_counts trace_exporter::counts() const {
  export_counts now{exported_.load(std::memory_order_relaxed), dropped_.load(std::memory_order_relaxed),
                    failed_.load(std::memory_order_relaxed), 0};
  const std::lock_guard lock{mutex_};
  now.queued = waiting_spans_;
  return now;
}

calls::upstream_call trace_exporter::export_call(const batch &spans) const {
  calls::upstream_call call;
  call.url = config_.traces_url();
  call.method = "POST";
  call.timeout = config_.timeout;
  call.max_body_bytes = max_answer_bytes;
  call.headers = {"Content-Type: application/json", "Expect:"};
  for (const auto &[name, value] : config_.headers) call.headers.push_back(name + ": " + value);
  std::string &body = call.body.emplace();
  body.reserve(envelope_.before.size() + spans.json.size() + envelope_.after.size());
  body.append(envelope_.before).append(spans.json).append(envelope_.after);
  return call;
}

coro::detached trace_exporter::run(client::upstream_loop &loop) {
  co_await loop.schedule();
  if (!loop.on_loop_thread()) co_return;  // the loop had stopped
  while (true) {
    auto nap = loop.events().sleep_until(std::chrono::steady_clock::now() + config_.interval);  // named: see wait
    if (co_await nap != loop::event_loop::wake_reason::time) co_return;
    if (claim_export()) {
      co_await drain(loop, true);
      exporting_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
}

coro::detached trace_exporter::pump(client::upstream_loop &loop) {
  co_await loop.schedule();
  if (loop.on_loop_thread()) co_await drain(loop, false);
  exporting_.fetch_sub(1, std::memory_order_acq_rel);
}

coro::task<void> trace_exporter::drain(client::upstream_loop &loop, bool all) {
  while (true) {
    batch spans = take(all);
    if (spans.spans == 0) co_return;
    co_await send(loop, std::move(spans));
  }
}

coro::task<void> trace_exporter::send(client::upstream_loop &loop, batch spans) {
  const calls::upstream_call call = export_call(spans);  // named: fetch holds it by reference
  const calls::upstream_reply reply = co_await loop.fetch(call);
  const bool ok = reply.status >= 200 && reply.status < 300;
  (ok ? exported_ : failed_).fetch_add(spans.spans, std::memory_order_relaxed);
  if (ok == !failing_.load(std::memory_order_relaxed)) co_return;  // as before: said already
  failing_.store(!ok, std::memory_order_relaxed);
  if (ok) {
    report_(true, "OTLP export to " + config_.traces_url() + " works again");
  } else {
    const std::string why = reply.status != 0
                                ? "answered " + std::to_string(reply.status)
                                : std::string{calls::to_string(reply.kind)} + " (" + reply.error_detail + ")";
    report_(false, "OTLP export to " + config_.traces_url() + " failed: " + why + "; " + std::to_string(spans.spans) +
                       " spans lost (counted in aggregator_otlp_spans_total{outcome=\"failed\"})");
  }
}

void trace_exporter::flush(std::chrono::milliseconds limit) {
  client::upstream_loop *loop = loop_.load(std::memory_order_acquire);
  if (loop == nullptr) return;
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  [](trace_exporter &self, client::upstream_loop &on, std::shared_ptr<std::promise<void>> signal) -> coro::detached {
    co_await on.schedule();
    if (on.on_loop_thread()) {
      co_await self.drain(on, true);
      // And the exports already on their way: stopping the loops would cancel them.
      while (self.exporting_.load(std::memory_order_acquire) > 0) {
        auto nap = on.events().sleep_until(std::chrono::steady_clock::now() + std::chrono::milliseconds{5});
        if (co_await nap != loop::event_loop::wake_reason::time) break;
      }
    }
    signal->set_value();
  }(*this, *loop, std::move(done));
  (void)finished.wait_for(limit);
}

}  // namespace agg::telemetry
