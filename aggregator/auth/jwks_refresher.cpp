#include "aggregator/auth/jwks_refresher.hpp"

#include "aggregator/client/upstream_loop.hpp"

namespace agg::auth {

namespace {

constexpr std::size_t max_jwks_bytes = 1 << 20;
constexpr std::chrono::seconds fetch_timeout{10};

std::int64_t steady_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

calls::upstream_call jwks_call(const std::string &url) {
  calls::upstream_call call;
  call.url = url;
  call.timeout = fetch_timeout;
  call.max_body_bytes = max_jwks_bytes;
  call.headers = {"Accept: application/jwk-set+json, application/json"};
  return call;
}

std::variant<key_set, std::string> keys_from(const calls::upstream_reply &reply, const jwks_source &source) {
  if (reply.status == 0)
    return "cannot fetch " + source.url + ": " + std::string{calls::to_string(reply.kind)} + " (" + reply.error_detail +
           ")";
  if (reply.status != 200) return source.url + " answered " + std::to_string(reply.status) + ", not 200";
  auto keys = key_set::parse_jwks(reply.body, source.algorithms);
  if (auto *problem = std::get_if<std::string>(&keys)) return source.url + ": " + *problem;
  if (std::get<key_set>(keys).usable() == 0)
    return source.url + " holds no key that can verify a token of auth.jwt.algorithms";
  return keys;
}

void jwks_refresher::start(client::upstream_loop &loop) {
  loop_.store(&loop, std::memory_order_release);
  run(loop);
}

void jwks_refresher::on_unknown_key() {
  client::upstream_loop *loop = loop_.load(std::memory_order_acquire);
  if (loop != nullptr && claim_attempt()) refresh_now(*loop);
}

bool jwks_refresher::claim_attempt() {
  const std::int64_t now = steady_now();
  const std::int64_t gap = std::chrono::duration_cast<std::chrono::nanoseconds>(source_.refresh_min).count();
  std::int64_t last = last_attempt_.load(std::memory_order_relaxed);
  while (last == std::numeric_limits<std::int64_t>::min() || now - last >= gap) {
    if (last_attempt_.compare_exchange_weak(last, now, std::memory_order_relaxed)) return true;
  }
  return false;
}

coro::detached jwks_refresher::run(client::upstream_loop &loop) {
  co_await loop.schedule();
  if (!loop.on_loop_thread()) co_return;  // the loop had stopped
  while (true) {
    auto nap = loop.events().sleep_until(std::chrono::steady_clock::now() + source_.refresh);  // named: see wait
    if (co_await nap != loop::event_loop::wake_reason::time) co_return;
    if (claim_attempt()) co_await refresh(loop);
  }
}

coro::detached jwks_refresher::refresh_now(client::upstream_loop &loop) {
  co_await loop.schedule();
  if (!loop.on_loop_thread()) co_return;
  co_await refresh(loop);
}

coro::task<void> jwks_refresher::refresh(client::upstream_loop &loop) {
  const calls::upstream_call call = jwks_call(source_.url);  // named: fetch holds it by reference
  const calls::upstream_reply reply = co_await loop.fetch(call);
  if (reply.kind == calls::outcome_kind::cancelled) co_return;  // the service is stopping
  auto keys = keys_from(reply, source_);
  if (auto *problem = std::get_if<std::string>(&keys)) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    report_(false, "JWKS refresh failed: " + *problem + "; the " + std::to_string(verifier_->keys()->size()) +
                       " keys in use stay");
    co_return;
  }
  const std::size_t count = std::get<key_set>(keys).size();
  verifier_->replace_keys(std::get<key_set>(std::move(keys)));
  refreshed_.fetch_add(1, std::memory_order_relaxed);
  report_(true, "JWKS refreshed from " + source_.url + ": " + std::to_string(count) + " keys");
}

}  // namespace agg::auth
