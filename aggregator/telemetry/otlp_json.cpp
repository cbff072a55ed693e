#include <array>
#include <charconv>

#include "aggregator/telemetry/span.hpp"
#include "aggregator/text/json_writer.hpp"

namespace agg::telemetry {

using namespace std::string_view_literals;

span_writer &span_writer::begin(const span_head &head) {
  if (!out_.empty() && out_.back() == '}') out_ += ","sv;
  out_.append("{\"traceId\":\""sv).append(head.trace_id).append("\",\"spanId\":\""sv).append(head.span_id);
  if (!head.parent_span_id.empty()) out_.append("\",\"parentSpanId\":\""sv).append(head.parent_span_id);
  out_ += "\",\"name\":"sv;
  text::json_writer{out_}.string(head.name);
  out_.append(",\"kind\":"sv).push_back(static_cast<char>('0' + static_cast<int>(head.kind)));
  out_ += ",\"startTimeUnixNano\":\""sv;
  digits(head.start_unix_nanos);
  out_ += "\",\"endTimeUnixNano\":\""sv;
  digits(head.end_unix_nanos);
  out_ += "\",\"attributes\":["sv;
  first_attribute_ = true;
  in_events_ = false;
  return *this;
}

void span_writer::key(std::string_view name) {
  out_.append(first_attribute_ ? "{\"key\":\""sv : ",{\"key\":\""sv).append(name);
  first_attribute_ = false;
}

void span_writer::digits(std::uint64_t number) {
  std::array<char, 24> text{};
  const auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), number);
  out_.append(text.data(), end);
}

span_writer &span_writer::text(std::string_view name, std::string_view value) {
  key(name);
  out_ += "\",\"value\":{\"stringValue\":"sv;
  text::json_writer{out_}.string(value);
  out_ += "}}"sv;
  return *this;
}

span_writer &span_writer::plain(std::string_view name, std::string_view value) {
  key(name);
  out_.append("\",\"value\":{\"stringValue\":\""sv).append(value).append("\"}}"sv);
  return *this;
}

span_writer &span_writer::integer(std::string_view name, std::int64_t value) {
  key(name);
  out_ += "\",\"value\":{\"intValue\":\""sv;  // 64-bit integers are strings in protobuf's JSON mapping
  if (value < 0) out_ += '-';
  digits(value < 0 ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value));
  out_ += "\"}}"sv;
  return *this;
}

span_writer &span_writer::boolean(std::string_view name, bool value) {
  key(name);
  out_ += value ? "\",\"value\":{\"boolValue\":true}}"sv : "\",\"value\":{\"boolValue\":false}}"sv;
  return *this;
}

span_writer &span_writer::event(std::string_view name, std::uint64_t at, std::string_view attribute_key,
                                std::int64_t value) {
  out_ += in_events_ ? ",{\"timeUnixNano\":\""sv : "],\"events\":[{\"timeUnixNano\":\""sv;
  in_events_ = true;
  digits(at);
  out_ += "\",\"name\":"sv;
  text::json_writer{out_}.string(name);
  out_ += ",\"attributes\":["sv;
  if (!attribute_key.empty()) {
    first_attribute_ = true;
    integer(attribute_key, value);
  }
  out_ += "]}"sv;
  return *this;
}

void span_writer::end(span_status status, std::string_view message) {
  out_.append("],\"status\":{\"code\":"sv).push_back(static_cast<char>('0' + static_cast<int>(status)));
  if (!message.empty()) {
    out_ += ",\"message\":"sv;
    text::json_writer{out_}.string(message);
  }
  out_ += "}}"sv;
}

otlp_envelope envelope_of(const span_source &source) {
  otlp_envelope e;
  text::json_writer w{e.before};
  e.before +=
      "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"sv;
  w.string(source.service_name);
  e.before += "}},{\"key\":\"service.version\",\"value\":{\"stringValue\":"sv;
  w.string(source.service_version);
  e.before +=
      "}},{\"key\":\"telemetry.sdk.name\",\"value\":{\"stringValue\":\"aggregator\"}},"
      "{\"key\":\"telemetry.sdk.language\",\"value\":{\"stringValue\":\"cpp\"}}]},"
      "\"scopeSpans\":[{\"scope\":{\"name\":\"aggregator\",\"version\":"sv;
  w.string(source.service_version);
  e.before += "},\"spans\":["sv;
  e.after = "]}]}]}";
  return e;
}

}  // namespace agg::telemetry
