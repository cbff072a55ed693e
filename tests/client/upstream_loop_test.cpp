#include "aggregator/client/upstream_loop.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "aggregator/coro/sync_wait.hpp"
#include "aggregator/coro/when_all_settled.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/local_upstream.hpp"

using namespace std::chrono_literals;
using agg::calls::outcome_kind;
using agg::calls::upstream_call;
using agg::calls::upstream_reply;
using agg::client::client_options;
using agg::client::upstream_loop;
using agg::coro::sync_wait;
using agg::coro::task;
using agg::testing::local_upstream;

namespace {

upstream_call call_to(std::string url, std::chrono::milliseconds timeout = 20s) {
  return upstream_call{std::move(url), timeout, 1 << 20};
}

/// A call to `upstream` whose origin is marked, as a plan's calls are: the loop sends it as its
/// parsed origin and its request target, and sizes its receive buffer by the origin's answers.
upstream_call preparsed_call_to(const local_upstream &upstream, const std::string &rest) {
  upstream_call call = call_to(upstream.base() + rest);
  call.origin_length = upstream.base().size();
  return call;
}

/// Fetches every call at once on the loop and returns the replies in call order.
std::vector<upstream_reply> fetch_all(upstream_loop &loop, const std::vector<upstream_call> &calls) {
  std::vector<task<upstream_reply>> fetches;
  for (const auto &c : calls) fetches.push_back(loop.fetch(c));
  auto outcomes = sync_wait(agg::coro::when_all_settled(std::move(fetches)));
  std::vector<upstream_reply> replies;
  for (auto &o : outcomes) replies.push_back(std::move(o).value());
  return replies;
}

std::string task_id_of(const upstream_reply &reply) {
  return std::string{boost::json::parse(reply.body).at("task_id").as_string()};
}

}  // namespace

TEST_CASE("a fetch returns the upstream's status and body") {
  local_upstream upstream;
  upstream_loop loop{client_options{}, 100};
  const auto reply = sync_wait(loop.fetch(call_to(upstream.api("task_id=7"))));
  CHECK(reply.kind == outcome_kind::ok);
  CHECK(reply.status == 200);
  CHECK(reply.body == R"({"message":"Hello World","task_id":"7"})");
  CHECK(reply.finished >= reply.started);
}

TEST_CASE("hundreds of concurrent fetches are all in flight at once") {
  // barrier=300 holds every request until 300 are waiting at the upstream: a loop that ran them
  // one by one would never get past the first, which would fail with a timeout.
  local_upstream upstream;
  client_options options;
  options.shards_per_loop = 8;
  upstream_loop loop{options, 1000};
  std::vector<upstream_call> calls;
  for (int i = 0; i < 300; ++i) calls.push_back(call_to(upstream.api("barrier=300&task_id=" + std::to_string(i))));
  const auto replies = fetch_all(loop, calls);
  for (std::size_t i = 0; i < replies.size(); ++i) {
    INFO("call " << i << ": " << replies[i].error_detail);
    REQUIRE(replies[i].kind == outcome_kind::ok);
    CHECK(task_id_of(replies[i]) == std::to_string(i));
  }
  CHECK(upstream.stats().max_in_flight == 300);
  CHECK(loop.transfers_in_flight() == 0);
}

TEST_CASE("concurrent fetches take about the longest delay, not the sum") {
  local_upstream upstream;
  upstream_loop loop{client_options{}, 1000};
  std::vector<upstream_call> calls;
  for (int i = 0; i < 200; ++i) calls.push_back(call_to(upstream.api("delay_ms=100&task_id=" + std::to_string(i))));
  const auto start = std::chrono::steady_clock::now();
  const auto replies = fetch_all(loop, calls);
  const auto took = std::chrono::steady_clock::now() - start;
  for (const auto &r : replies) REQUIRE(r.kind == outcome_kind::ok);
  CHECK(took >= 100ms);
  CHECK(took < 200 * 100ms / 4);  // the sum is 20 s; concurrent is ~0.1 s, with room for sanitizers
}

TEST_CASE("replies come back in call order whatever order they finish in") {
  local_upstream upstream;
  upstream_loop loop{client_options{}, 100};
  std::vector<upstream_call> calls;
  for (int i = 0; i < 8; ++i)  // the first call is the slowest
    calls.push_back(
        call_to(upstream.api("delay_ms=" + std::to_string((8 - i) * 20) + "&task_id=" + std::to_string(i))));
  const auto replies = fetch_all(loop, calls);
  for (std::size_t i = 0; i < replies.size(); ++i) CHECK(task_id_of(replies[i]) == std::to_string(i));
  CHECK(replies[7].finished < replies[0].finished);
}

TEST_CASE("a call whose origin was parsed beforehand sends its request target as it is") {
  // Such a call goes to curl as its origin (parsed once per loop) and its target: the target must
  // be the URL's, byte for byte, with "/" for a URL with no path.
  local_upstream upstream;
  upstream_loop loop{client_options{}, 100};
  const auto target_sent = [&](const std::string &rest) {
    const auto reply = sync_wait(loop.fetch(preparsed_call_to(upstream, rest)));
    REQUIRE(reply.kind == outcome_kind::ok);
    return std::string{boost::json::parse(reply.body).at("target").as_string()};
  };
  CHECK(target_sent("/echo?a=1&b=%20x&c=") == "/echo?a=1&b=%20x&c=");
  CHECK(target_sent("/echo") == "/echo");
  // No path: the bundled upstream answers "/?q" 404 (not found), and a target without its "/" 400
  // (malformed).
  CHECK(sync_wait(loop.fetch(preparsed_call_to(upstream, "?task_id=4"))).status == 404);
}

TEST_CASE("connections are kept alive and reused across aggregations") {
  local_upstream upstream;
  client_options options;
  options.shards_per_loop = 4;
  upstream_loop loop{options, 1000};
  std::vector<upstream_call> calls;
  for (int i = 0; i < 40; ++i) calls.push_back(call_to(upstream.api("barrier=40&task_id=" + std::to_string(i))));
  fetch_all(loop, calls);
  const auto after_first = upstream.stats().connections_accepted;
  CHECK(after_first == 40);
  fetch_all(loop, calls);
  fetch_all(loop, calls);
  CHECK(upstream.stats().connections_accepted == after_first);
  CHECK(upstream.stats().requests == 120);
}

TEST_CASE("calls one after another reuse one connection, whichever of the loop's 64 shards could run them") {
  local_upstream upstream;
  client_options options;
  options.shards_per_loop = 64;
  upstream_loop loop{options, 1000};
  for (int i = 0; i < 100; ++i)
    REQUIRE(sync_wait(loop.fetch(call_to(upstream.api("task_id=" + std::to_string(i))))).kind == outcome_kind::ok);
  CHECK(upstream.stats().connections_accepted == 1);
  // Ten at a time, twice: ten connections, the second time all of them reused.
  std::vector<upstream_call> ten;
  for (int i = 0; i < 10; ++i) ten.push_back(call_to(upstream.api("barrier=10&task_id=" + std::to_string(i))));
  fetch_all(loop, ten);
  fetch_all(loop, ten);
  CHECK(upstream.stats().connections_accepted == 10);
}

TEST_CASE("after a burst, the easy handles no transfer needs any more are freed, a few kept") {
  local_upstream upstream;
  upstream_loop loop{client_options{}, 1000};
  std::vector<upstream_call> calls;
  for (int i = 0; i < 300; ++i) calls.push_back(call_to(upstream.api("barrier=300&task_id=" + std::to_string(i))));
  fetch_all(loop, calls);
  const auto idle = [&loop] {
    std::size_t n = 0;
    loop.events().call([&] { n = loop.idle_easy_handles(); });
    return n;
  };
  CHECK(idle() == 300);  // kept for the next burst, for now
  // Two trim windows (2 s each) with no transfer: all but 16 go.
  CHECK(agg::testing::eventually([&] { return idle() == 16; }, 15s));
  REQUIRE(sync_wait(loop.fetch(call_to(upstream.api("task_id=after")))).kind == outcome_kind::ok);
}

TEST_CASE("after a burst, the pools of the shards no call uses any more are closed, the first shard's kept") {
  local_upstream upstream;
  client_options options;
  options.shards_per_loop = 64;
  options.pool_idle_timeout = 0ms;  // closed at the end of the first whole window without a call
  upstream_loop loop{options, 1000};
  std::vector<upstream_call> calls;
  for (int i = 0; i < 100; ++i) calls.push_back(call_to(upstream.api("barrier=100&task_id=" + std::to_string(i))));
  fetch_all(loop, calls);
  CHECK(upstream.stats().connections_accepted == 100);
  CHECK(upstream.stats().connections_open == 100);  // pooled, for the next burst, for now
  // Within two windows (2 s each) with no transfer, the shards that held the burst's connections
  // close them, all but the first shard, where calls made one after another go: the two it held.
  CHECK(agg::testing::eventually([&] { return upstream.stats().connections_open == 2; }, 15s));
  for (int i = 0; i < 3; ++i)
    REQUIRE(sync_wait(loop.fetch(call_to(upstream.api("task_id=after" + std::to_string(i))))).kind == outcome_kind::ok);
  CHECK(upstream.stats().connections_accepted == 100);  // the first shard's connection, reused
}

TEST_CASE("a refused connection is a connect error in the reply, not an exception") {
  upstream_loop loop{client_options{}, 10};
  const auto reply =
      sync_wait(loop.fetch(call_to("http://127.0.0.1:" + std::to_string(agg::testing::refused_port()) + "/api/")));
  CHECK(reply.kind == outcome_kind::connect);
  CHECK(reply.status == 0);
  CHECK_FALSE(reply.error_detail.empty());
}

TEST_CASE("a call slower than its timeout ends as a timeout") {
  local_upstream upstream;
  upstream_loop loop{client_options{}, 10};
  const auto reply = sync_wait(loop.fetch(call_to(upstream.api("delay_ms=5000"), 100ms)));
  CHECK(reply.kind == outcome_kind::timeout);
  CHECK(loop.transfers_in_flight() == 0);
}

TEST_CASE("a body over the per-call cap aborts the transfer as too_large") {
  local_upstream upstream;
  upstream_loop loop{client_options{}, 10};
  const auto reply = sync_wait(loop.fetch(upstream_call{upstream.api("task_id=0123456789"), 5s, 16}));
  CHECK(reply.kind == outcome_kind::too_large);
  CHECK(reply.body.empty());
}

TEST_CASE("a body hundreds of times the receive buffer arrives whole") {
  local_upstream upstream;
  client_options options;
  options.receive_buffer_bytes = 1'024;  // libcurl's smallest
  upstream_loop loop{options, 10};
  const auto replies = fetch_all(
      loop, {call_to(upstream.api("fault=oversized&size=300000")), call_to(upstream.api("fault=oversized&size=5000"))});
  REQUIRE(replies.size() == 2);
  CHECK(replies[0].kind == outcome_kind::ok);
  CHECK(replies[0].body == R"({"pad":")" + std::string(300'000 - 10, 'x') + R"("})");
  CHECK(replies[1].body.size() == 5'000);
}

TEST_CASE("an origin's calls get a new receive buffer as its answers grow and shrink, and every body arrives whole") {
  // Small answers, then large ones, then small again, on the same pooled handles: each transfer
  // is given the buffer its origin's recent answers call for (1 KiB, then the configured 64 KiB).
  local_upstream upstream;
  client_options options;
  options.receive_buffer_bytes = 65'536;
  upstream_loop loop{options, 10};
  for (const std::size_t size : {100, 200'000, 200'000, 100, 5'000, 100}) {
    const std::string rest = "/api/?fault=oversized&size=" + std::to_string(size);
    const auto replies = fetch_all(loop, {preparsed_call_to(upstream, rest), preparsed_call_to(upstream, rest)});
    for (const auto &reply : replies) {
      REQUIRE(reply.kind == outcome_kind::ok);
      CHECK(reply.body.size() == size);
    }
  }
}

TEST_CASE("the loop resumes fetches on its own thread") {
  local_upstream upstream;
  upstream_loop loop{client_options{}, 10};
  auto where = [](upstream_loop *l, upstream_call c) -> task<bool> {
    co_await l->fetch(c);
    co_return l->on_loop_thread();
  };
  CHECK(sync_wait(where(&loop, call_to(upstream.api("task_id=1")))));
  CHECK_FALSE(loop.on_loop_thread());
}

TEST_CASE("destroying the loop cancels transfers still in flight") {
  local_upstream upstream;
  std::optional<upstream_loop> loop{std::in_place, client_options{}, 10};
  std::optional<upstream_reply> reply;
  std::thread caller{[&] { reply = sync_wait(loop->fetch(call_to(upstream.api("delay_ms=60000"), 120s))); }};
  // Wait until the request is really at the upstream, then tear the loop down.
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (upstream.stats().in_flight == 0 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  REQUIRE(upstream.stats().in_flight == 1);
  loop.reset();
  caller.join();
  REQUIRE(reply);
  CHECK(reply->kind == outcome_kind::cancelled);
}
