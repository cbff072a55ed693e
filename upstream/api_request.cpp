#include "upstream/api_request.hpp"

#include <zlib.h>

#include <stdexcept>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <charconv>
#include <utility>

namespace upstream {

namespace {

std::optional<fault> parse_fault(std::string_view name) {
  static constexpr std::pair<std::string_view, fault> names[] = {{"reset_before_headers", fault::reset_before_headers},
                                                                 {"reset_after_headers", fault::reset_after_headers},
                                                                 {"endless_body", fault::endless_body},
                                                                 {"garbage", fault::garbage},
                                                                 {"oversized", fault::oversized},
                                                                 {"stall", fault::stall},
                                                                 {"binary", fault::binary}};
  for (const auto &[n, f] : names)
    if (n == name) return f;
  return std::nullopt;
}

}  // namespace

std::optional<long long> whole_number(std::string_view text, long long min, long long max) {
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) return std::nullopt;
  return value;
}

std::variant<api_request, std::string> read_api_request(const query_params &params,
                                                        std::chrono::milliseconds default_delay) {
  std::optional<std::string> error;
  // A numeric parameter, or `fallback` when absent; the first one out of range is the error.
  const auto number = [&](const char *name, long long min, long long max, long long fallback) -> long long {
    const auto it = params.find(name);
    if (it == params.end() || error) return fallback;
    if (const auto n = whole_number(it->second, min, max)) return *n;
    error =
        R"({"error":")" + std::string{name} + " must be " + std::to_string(min) + ".." + std::to_string(max) + "\"}";
    return fallback;
  };
  api_request r;
  r.delay = std::chrono::milliseconds{number("delay_ms", 0, 3'600'000, default_delay.count())};
  r.status = static_cast<int>(number("status", 200, 599, 200));
  r.size = static_cast<std::size_t>(number("size", 16, 256LL << 20, 2 << 20));
  r.barrier = static_cast<std::size_t>(number("barrier", 1, 100'000, 0));
  r.fail_first = number("fail_first", 0, 1'000'000'000, 0);
  r.fail_every = number("fail_every", 0, 1'000'000'000, 0);
  r.fail_status = static_cast<int>(number("fail_status", 400, 599, 503));
  r.retry_after = number("retry_after", 0, 86'400, -1);
  r.slow_every = number("slow_every", 0, 1'000'000'000, 0);
  r.slow_first = number("slow_first", 0, 1'000'000'000, 0);
  r.slow = std::chrono::milliseconds{number("slow_ms", 0, 3'600'000, 1'000)};
  if (error) return *error;
  if (const auto it = params.find("key"); it != params.end()) r.key = it->second;
  if (const auto it = params.find("cache_control"); it != params.end()) {
    if (it->second.find_first_of("\r\n") != std::string::npos) return R"({"error":"cache_control must be one line"})";
    r.cache_control = it->second;
  }
  if (const auto it = params.find("fault"); it != params.end()) {
    const auto f = parse_fault(it->second);
    if (!f) return R"({"error":"unknown fault"})";
    r.injected = *f;
  }
  if (const auto it = params.find("task_id"); it != params.end()) r.task_id = it->second;
  if (const auto it = params.find("encoding"); it != params.end()) {
    if (it->second != "gzip") return R"({"error":"encoding must be gzip"})";
    r.gzip = true;
  }
  return r;
}

planned_answer plan_answer(const api_request &r, unsigned long long nth) {
  const auto n = static_cast<long long>(nth);
  planned_answer a{r.status, r.delay, {}, {}};
  if (n <= r.fail_first || (r.fail_every > 0 && n % r.fail_every == 0)) {
    a.status = r.fail_status;
    if (r.retry_after >= 0) a.headers += "Retry-After: " + std::to_string(r.retry_after) + "\r\n";
  }
  if (n <= r.slow_first || (r.slow_every > 0 && n % r.slow_every == 0)) a.delay = r.slow;
  if (r.cache_control) a.headers += "Cache-Control: " + *r.cache_control + "\r\n";
  if (r.injected == fault::oversized)
    a.body = R"({"pad":")" + std::string(r.size - 10, 'x') + R"("})";
  else if (a.status == 204)
    a.body.clear();
  else if (a.status >= 300)
    a.body = R"({"error":"injected status )" + std::to_string(a.status) + R"("})";
  else
    a.body = R"({"message":"Hello World","task_id":)" +
             (r.task_id ? boost::json::serialize(boost::json::string{*r.task_id}) : std::string{"null"}) + "}";
  if (r.gzip) {
    a.body = gzip(a.body);
    a.headers += "Content-Encoding: gzip\r\n";
  }
  return a;
}

std::string gzip(std::string_view text) {
  z_stream z{};
  // 15 window bits + 16: a gzip header and trailer around the deflate stream.
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::string out(deflateBound(&z, static_cast<uLong>(text.size())), '\0');
  z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef *>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
  return out;
}

}  // namespace upstream
