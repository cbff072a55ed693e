#include "aggregator/quota/shared_rate_limiter.hpp"

#include <openssl/evp.h>

#include <cmath>
#include <stdexcept>

namespace agg::quota {

namespace {

// KEYS[1]: the key. ARGV: the emission interval and the tolerance (interval × burst), in µs; the
// units charged. Returns {admitted (0/1), µs until a refused charge fits, µs until the burst is
// whole again, µs the key's charges reach past now before this one}.
constexpr const char *gcra_lua = R"lua(
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local units = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local next = tat + interval * units
local ahead = next - now
if ahead > tolerance then
  return {0, ahead - tolerance, tat - now, tat - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', math.ceil(ahead / 1000) + 1)
return {1, 0, ahead, tat - now}
)lua";

std::string sha1_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  std::size_t length = 0;
  if (EVP_Q_digest(nullptr, "SHA1", nullptr, text.data(), text.size(), digest, &length) != 1)
    throw std::runtime_error("EVP_Q_digest(SHA1) failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xf];
  }
  return out;
}

/// The decision in `r`, the script's reply; nullopt when it is not one.
std::optional<decision> decision_of(const store::reply &r, double units, const rate &limit) {
  if (r.type != store::reply::kind::array || r.elements.size() != 4) return std::nullopt;
  for (const auto &e : r.elements)
    if (e.type != store::reply::kind::integer) return std::nullopt;
  using micros = std::chrono::duration<double, std::micro>;
  const double interval_us = 1e6 / limit.per_second;
  const double tolerance_us = interval_us * limit.burst;
  decision d;
  d.admitted = r.elements[0].integer == 1;
  d.retry_after = micros{static_cast<double>(r.elements[1].integer)};
  d.reset = micros{static_cast<double>(r.elements[2].integer)};
  const double before = static_cast<double>(r.elements[3].integer);  // how far the charges reached before
  d.remaining = std::max(0.0, (tolerance_us - (d.admitted ? before + interval_us * units : before)) / interval_us);
  return d;
}

}  // namespace

const std::string &shared_rate_limiter::script() {
  static const std::string text{gcra_lua};
  return text;
}

const std::string &shared_rate_limiter::script_sha1() {
  static const std::string sha = sha1_hex(script());
  return sha;
}

coro::task<std::optional<decision>> shared_rate_limiter::charge(store::redis_link &link, std::string key, double units,
                                                                rate r) {
  decision refused_outright;
  if (units > r.burst) {
    refused_outright.never_fits = true;
    co_return refused_outright;
  }
  const double interval_us = 1e6 / r.per_second;
  const std::string interval = std::to_string(interval_us);
  const std::string tolerance = std::to_string(interval_us * r.burst);
  const std::string charged = std::to_string(units);
  auto by_sha = link.command({"EVALSHA", script_sha1(), "1", key, interval, tolerance, charged});
  store::result answer = co_await by_sha;
  if (const auto *got = std::get_if<store::reply>(&answer);
      got != nullptr && got->is_error() && got->text.starts_with("NOSCRIPT")) {
    auto by_text = link.command({"EVAL", script(), "1", key, interval, tolerance, charged});
    answer = co_await by_text;
  }
  const auto *got = std::get_if<store::reply>(&answer);
  if (got == nullptr) co_return std::nullopt;
  co_return decision_of(*got, units, r);
}

}  // namespace agg::quota
