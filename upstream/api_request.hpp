#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace upstream {

/// A request's query parameters, percent-decoded (`+` as a space); the first of a repeated name counts.
using query_params = std::map<std::string, std::string, std::less<>>;

/// What the upstream does instead of (or with) its answer: the fault injection of `fault=`.
enum class fault {
  none,
  reset_before_headers,  ///< the connection is reset instead of answered
  reset_after_headers,   ///< headers promise a body, then the connection is reset
  endless_body,          ///< a chunked body that never ends
  garbage,               ///< a 200 whose body is not JSON
  oversized,             ///< a valid JSON body of `size=` bytes (default 2 MiB)
  binary,                ///< a 200 whose body is bytes that are neither JSON nor UTF-8
  stall,                 ///< headers and part of the body, then silence
};

/// `text` as a whole number from `min` to `max`; nullopt when it is not one.
std::optional<long long> whole_number(std::string_view text, long long min, long long max);

/// What one `GET /api/?…` asks of the upstream (the parameters are listed at upstream_server).
struct api_request {
  std::chrono::milliseconds delay{0};
  int status = 200;
  std::size_t size = 2 << 20;  ///< of an `oversized` body
  std::size_t barrier = 0;     ///< 0: none
  fault injected = fault::none;
  std::string key;  ///< whose calls are counted for the failures and slowness below
  long long fail_first = 0;
  long long fail_every = 0;
  int fail_status = 503;
  long long retry_after = -1;  ///< -1: no Retry-After
  long long slow_first = 0;
  long long slow_every = 0;
  std::chrono::milliseconds slow{1'000};
  std::optional<std::string> cache_control;
  std::optional<std::string> task_id;
  bool gzip = false;  ///< `encoding=gzip`: the body gzip-compressed, with Content-Encoding: gzip
};

/// The request, or the body of the 400 that says what was wrong with it.
std::variant<api_request, std::string> read_api_request(const query_params &params,
                                                        std::chrono::milliseconds default_delay);

/// How the `nth` call (1, 2, ...) made with the request's key is answered: what makes failures and
/// slowness deterministic.
struct planned_answer {
  int status;
  std::chrono::milliseconds delay;
  std::string headers;  ///< extra header lines, each ending in CRLF
  std::string body;
};
planned_answer plan_answer(const api_request &request, unsigned long long nth);

/// `text` gzip-compressed (zlib): what an upstream that compresses sends.
std::string gzip(std::string_view text);

}  // namespace upstream
