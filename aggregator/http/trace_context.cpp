#include "aggregator/http/trace_context.hpp"

#include <array>
#include <charconv>
#include <random>

namespace agg::http {

namespace {

bool lower_hex(std::string_view text) noexcept {
  for (const char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool all_zero(std::string_view text) noexcept { return text.find_first_not_of('0') == std::string_view::npos; }

/// `digits` random lowercase hex digits, never all zero.
std::string random_hex(std::size_t digits) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(digits, '0');
  while (all_zero(out)) {
    for (std::size_t i = 0; i < digits; i += 16) {
      std::uint64_t bits = random();
      for (std::size_t j = i; j < i + 16 && j < digits; ++j, bits >>= 4) out[j] = hex[bits & 0xF];
    }
  }
  return out;
}

/// A tracestate key: lcalpha (lcalpha / DIGIT / "_" / "-"/ "*" / "/")*, up to 256, or a multi-tenant
/// `tenant@system` (tenant up to 241 and may start with a digit, system up to 14).
bool valid_key(std::string_view key) noexcept {
  const auto part = [](std::string_view p, std::size_t max, bool digit_first) {
    if (p.empty() || p.size() > max) return false;
    if (!((p[0] >= 'a' && p[0] <= 'z') || (digit_first && p[0] >= '0' && p[0] <= '9'))) return false;
    for (const char c : p)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/'))
        return false;
    return true;
  };
  const std::size_t at = key.find('@');
  if (at == std::string_view::npos) return part(key, 256, false);
  return part(key.substr(0, at), 241, true) && part(key.substr(at + 1), 14, false);
}

/// A tracestate value: 1 to 256 printable ASCII characters but `,` and `=`, not ending in a space.
bool valid_value(std::string_view value) noexcept {
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  for (const char c : value)
    if (c < 0x20 || c > 0x7E || c == ',' || c == '=') return false;
  return true;
}

}  // namespace

std::string trace_context::traceparent() const { return "00-" + trace_id + "-" + span_id + "-" + flags; }

bool valid_tracestate(std::string_view value) noexcept {
  if (value.size() > 512) return false;
  std::size_t members = 0;
  while (true) {
    const std::size_t comma = value.find(',');
    std::string_view member = value.substr(0, comma);
    while (!member.empty() && (member.front() == ' ' || member.front() == '\t')) member.remove_prefix(1);
    while (!member.empty() && (member.back() == ' ' || member.back() == '\t')) member.remove_suffix(1);
    if (!member.empty()) {  // empty members are allowed and ignored
      const std::size_t equals = member.find('=');
      if (equals == std::string_view::npos || !valid_key(member.substr(0, equals)) ||
          !valid_value(member.substr(equals + 1)) || ++members > 32)
        return false;
    }
    if (comma == std::string_view::npos) return true;
    value.remove_prefix(comma + 1);
  }
}

std::optional<trace_context> continue_trace(std::optional<std::string_view> traceparent,
                                            std::optional<std::string_view> tracestate) {
  if (!traceparent) return std::nullopt;
  const std::string_view text = *traceparent;
  // version-traceid-parentid-flags: 2-32-16-2 hex digits; a later version may append "-..." fields.
  if (text.size() < 55 || text[2] != '-' || text[35] != '-' || text[52] != '-') return std::nullopt;
  const std::string_view version = text.substr(0, 2), trace = text.substr(3, 32), parent = text.substr(36, 16),
                         flags = text.substr(53, 2);
  if (!lower_hex(version) || version == "ff" || !lower_hex(trace) || !lower_hex(parent) || !lower_hex(flags) ||
      all_zero(trace) || all_zero(parent))
    return std::nullopt;
  if (version == "00" ? text.size() != 55 : (text.size() > 55 && text[55] != '-')) return std::nullopt;
  trace_context context{.trace_id = std::string{trace},
                        .parent_id = std::string{parent},
                        .span_id = random_hex(16),
                        .flags = std::string{flags},
                        .tracestate = {}};
  if (tracestate && valid_tracestate(*tracestate)) context.tracestate = std::string{*tracestate};
  return context;
}

trace_context start_trace(bool sampled) {
  return trace_context{.trace_id = random_hex(32),
                       .parent_id = {},
                       .span_id = random_hex(16),
                       .flags = sampled ? "01" : "00",
                       .tracestate = {}};
}

bool trace_context::sampled() const noexcept {
  std::uint8_t bits = 0;
  const auto [end, ec] = std::from_chars(flags.data(), flags.data() + flags.size(), bits, 16);
  return ec == std::errc{} && (bits & 1U) != 0;
}

std::string trace_context::call_span_id(std::size_t entry, std::size_t item) const {
  const std::array<char, 16> hex = call_span_hex(entry, item);
  return {hex.data(), hex.size()};
}

std::array<char, 16> trace_context::call_span_hex(std::size_t entry, std::size_t item) const noexcept {
  std::uint64_t own = 0;
  (void)std::from_chars(span_id.data(), span_id.data() + span_id.size(), own, 16);
  // SplitMix64's finaliser over the request's (random) span and the call's place: distinct calls
  // of one request get distinct ids, as random as the request's own.
  std::uint64_t z = own + 0x9E3779B97F4A7C15ULL * ((static_cast<std::uint64_t>(entry) << 32 | item) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  if (z == 0) z = 1;  // an all-zero span id is invalid
  static constexpr char digits[] = "0123456789abcdef";
  std::array<char, 16> hex{};
  for (std::size_t i = 16; i-- > 0; z >>= 4) hex[i] = digits[z & 0xF];
  return hex;
}

std::string trace_context::call_traceparent(std::size_t entry, std::size_t item, std::string_view prefix) const {
  const std::array<char, 16> span = call_span_hex(entry, item);
  std::string line;
  line.reserve(prefix.size() + 3 + trace_id.size() + 1 + span.size() + 1 + flags.size());
  ((((line += prefix) += "00-") += trace_id) += '-').append(span.data(), span.size());
  (line += '-') += flags;
  return line;
}

bool sampled_at_ratio(std::string_view trace_id, double ratio) noexcept {
  if (ratio >= 1) return true;
  if (ratio <= 0 || trace_id.size() < 16) return false;
  std::uint64_t low = 0;
  const std::string_view digits = trace_id.substr(trace_id.size() - 16);
  (void)std::from_chars(digits.data(), digits.data() + digits.size(), low, 16);
  return static_cast<double>(low) < ratio * 18446744073709551616.0;
}

}  // namespace agg::http
