#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace agg::telemetry {

/// OTLP's SpanKind: what the span is of.
enum class span_kind : int { internal = 1, server = 2, client = 3 };
/// OTLP's StatusCode: unset, or an error (OpenTelemetry's HTTP conventions leave ok to the user).
enum class span_status : int { unset = 0, ok = 1, error = 2 };

/// Steady-clock times as Unix nanoseconds: the wall clock read once, beside the steady clock, and
/// the steady clock's differences applied (a span's length never jumps with an NTP step).
class wall_clock {
 public:
  wall_clock() noexcept
      : steady_(std::chrono::steady_clock::now()),
        unix_nanos_(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count())) {}
  [[nodiscard]] std::uint64_t unix_nanos(std::chrono::steady_clock::time_point at) const noexcept {
    return unix_nanos_ +
           static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(at - steady_).count());
  }

 private:
  std::chrono::steady_clock::time_point steady_;
  std::uint64_t unix_nanos_;
};

/// Who a span's times and ids are: lowercase hex ids (an empty parent: a root span), Unix nanoseconds.
struct span_head {
  std::string_view trace_id;  ///< 32 hex digits
  std::string_view span_id;   ///< 16 hex digits
  std::string_view parent_span_id;
  std::string_view name;
  span_kind kind = span_kind::internal;
  std::uint64_t start_unix_nanos = 0;
  std::uint64_t end_unix_nanos = 0;
};

/// Writes spans straight into OTLP's JSON (protobuf's JSON mapping: ids in hex, 64-bit integers as
/// strings), spans joined by commas, no model in between: a span is its head, its attributes as they
/// come, its events, its status. Our own text (keys, ids, literals: `plain`) goes in as it is;
/// anything else (`text`) is escaped. Each span's JSON is about a kilobyte.
class span_writer {
 public:
  explicit span_writer(std::string &out) noexcept : out_(out) {}

  span_writer &begin(const span_head &head);
  span_writer &text(std::string_view key, std::string_view value);
  span_writer &plain(std::string_view key, std::string_view value);
  span_writer &integer(std::string_view key, std::int64_t value);
  span_writer &boolean(std::string_view key, bool value);
  /// An event at `at`, after every attribute; with one integer attribute when `key` is not empty.
  span_writer &event(std::string_view name, std::uint64_t at, std::string_view key = {}, std::int64_t value = 0);
  /// Closes the span with its status (and a message, escaped, when there is one).
  void end(span_status status, std::string_view message = {});

 private:
  void key(std::string_view name);
  void digits(std::uint64_t number);

  std::string &out_;
  bool first_attribute_ = true;
  bool in_events_ = false;
};

/// The service a span comes from: OTLP's resource (service.name, service.version) and scope.
struct span_source {
  std::string service_name = "aggregator";
  std::string service_version;
};

/// What an OTLP/HTTP JSON export request (ExportTraceServiceRequest) holds around its spans (span
/// JSON joined by commas): the resource and scope of `source`.
struct otlp_envelope {
  std::string before;
  std::string after;
};
otlp_envelope envelope_of(const span_source &source);

}  // namespace agg::telemetry
