#include "aggregator/runtime/service_log.hpp"

#include <unistd.h>

#include <ctime>

#include "aggregator/text/json_writer.hpp"
#include "aggregator/text/utf8.hpp"

namespace agg::runtime {

namespace {

using level = config::log_config::level;

std::string_view name_of(level l) noexcept {
  switch (l) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
    case level::off: return "off";
  }
  return "info";
}

/// Wall-clock time as 2026-11-21T17:59:55.123Z.
std::string timestamp() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc{};
  gmtime_r(&now.tv_sec, &utc);
  char text[40];
  const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%03ldZ", now.tv_nsec / 1'000'000);
  return text;
}

/// `text` for a text log line: control characters, backslashes and bytes that are not UTF-8 as
/// `\xHH`, so that nothing a client sends (a path with an encoded line break) can start a forged
/// line or hide one, and the line stays text.
std::string escaped(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) {
      const text::utf8_step step = text::utf8_step_at(text, i);
      if (step.valid) {
        out.append(text.substr(i, step.length));
        i += step.length - 1;
        continue;
      }
    } else if (byte >= 0x20 && byte != 0x7f && c != '\\') {
      out += c;
      continue;
    }
    out += "\\x";
    out += hex[byte >> 4];
    out += hex[byte & 0x0f];
  }
  return out;
}

void write_line(std::string line, int fd = STDERR_FILENO) {
  line += '\n';
  // One write: lines stay whole even when many workers log at once. A failing output is ignored.
  [[maybe_unused]] const ssize_t written = ::write(fd, line.data(), line.size());
}

std::string json_event(std::string_view level_name, std::string_view message) {
  std::string line;
  text::json_writer w{line};
  w.raw("{").key("time").string(timestamp()).raw(",").key("level").string(level_name);
  w.raw(",").key("message").string(message).raw("}");
  return line;
}

}  // namespace

void service_log::access(const access_entry &e) const {
  if (!enabled(level::info)) return;
  const double ms = std::chrono::duration<double, std::milli>(e.took).count();
  std::string line;
  if (settings_.json) {
    text::json_writer w{line};
    w.raw("{").key("time").string(timestamp()).raw(",").key("level").string("info");
    w.raw(",").key("request_id").string(e.request_id).raw(",").key("method").string(e.method);
    w.raw(",").key("path").string(e.path).raw(",").key("route").string(e.route);
    w.raw(",").key("status").number(static_cast<long long>(e.status));
    w.raw(",").key("bytes").number(static_cast<long long>(e.bytes));
    w.raw(",").key("duration_ms").number(ms, 3);
    w.raw(",").key("upstream_calls").number(static_cast<long long>(e.upstream_calls));
    w.raw(",").key("upstream_failures").number(static_cast<long long>(e.upstream_failures));
    if (!e.identity.empty()) w.raw(",").key("identity").string(e.identity);
    if (!e.trace_id.empty()) {
      w.raw(",").key("trace_id").string(e.trace_id).raw(",").key("span_id").string(e.span_id);
      if (!e.parent_id.empty()) w.raw(",").key("parent_span_id").string(e.parent_id);
    }
    w.raw("}");
  } else {
    char numbers[128];
    std::snprintf(numbers, sizeof numbers, "%d %zu %.3fms upstreams=%zu failed=%zu", e.status, e.bytes, ms,
                  e.upstream_calls, e.upstream_failures);
    line = timestamp() + " " + escaped(e.request_id) + " " + escaped(e.method) + " " + escaped(e.path) + " " + numbers;
    if (!e.identity.empty()) line += " identity=" + escaped(e.identity);
    if (!e.trace_id.empty())
      line += " trace=" + std::string{e.trace_id} + " span=" + std::string{e.span_id} +
              (e.parent_id.empty() ? "" : " parent=" + std::string{e.parent_id});
  }
  write_line(std::move(line));
}

void service_log::event(level l, std::string_view message) const {
  if (!enabled(l)) return;
  write_line(settings_.json ? json_event(name_of(l), message)
                            : timestamp() + " " + std::string{name_of(l)} + " " + escaped(message));
}

void service_log::announce(std::string_view message) const {
  if (settings_.threshold == config::log_config::level::off) return;
  write_line(settings_.json ? json_event("info", message) : std::string{message}, STDOUT_FILENO);
}

}  // namespace agg::runtime
