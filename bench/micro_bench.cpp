// Micro benchmarks of the engine's building blocks (no HTTP front):
//   ./build/bench/aggregator_micro_bench [--benchmark_filter=...]

#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "aggregator/auth/api_keys.hpp"
#include "aggregator/auth/jwt_verifier.hpp"
#include "aggregator/client/upstream_client.hpp"
#include "aggregator/config/live_routes.hpp"
#include "aggregator/config/load_config.hpp"
#include "aggregator/coro/sync_wait.hpp"
#include "aggregator/coro/when_all_settled.hpp"
#include "aggregator/fanout/body_shaping.hpp"
#include "aggregator/fanout/render.hpp"
#include "aggregator/fanout/run_plan.hpp"
#include "aggregator/http/body_encoder.hpp"
#include "aggregator/quota/rate_limiter.hpp"
#include "tests/support/jwt_minting.hpp"
#include "upstream/upstream_server.hpp"

namespace {

agg::coro::task<int> immediate(int value) { co_return value; }

/// Cost of one task plus its slot in when_all_settled, per element.
void BM_when_all_settled(benchmark::State &state) {
  const auto n = static_cast<int>(state.range(0));
  for (auto _ : state) {
    std::vector<agg::coro::task<int>> tasks;
    tasks.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) tasks.push_back(immediate(i));
    benchmark::DoNotOptimize(agg::coro::sync_wait(agg::coro::when_all_settled(std::move(tasks))));
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_when_all_settled)->Arg(8)->Arg(1000);

agg::config::service_config demo_config(const std::string &base) {
  auto parsed = agg::config::parse_config(
      R"({"client":{"shards_per_loop":8},"routes":[{"name":"bench","path":"/bench","num":{"default":10,"max":1000},
          "upstreams":[{"url":")" +
      base + R"(/api/?task_id={i}","repeat":true}]}]})");
  return std::get<agg::config::service_config>(std::move(parsed));
}

/// Rendering the response document of N small bodies.
void BM_render(benchmark::State &state) {
  const auto config = demo_config("http://127.0.0.1:9");
  const auto n = std::to_string(state.range(0));
  const auto plan = std::get<agg::fanout::fan_out_plan>(agg::fanout::make_plan(config.routes[0], {{"num", n}}));
  std::vector<agg::stages::call_outcome> replies(plan.calls.size());
  for (std::size_t i = 0; i < replies.size(); ++i) {
    replies[i].reply.status = 200;
    replies[i].reply.body = R"({"message":"Hello World","task_id":")" + std::to_string(i) + "\"}";
  }
  const auto result =
      agg::fanout::settle(plan, agg::fanout::execution_mode::async, replies, std::chrono::steady_clock::now());
  for (auto _ : state) benchmark::DoNotOptimize(agg::fanout::render(result));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_render)->Arg(10)->Arg(1000);

/// Compressing the answer of an aggregation of 100 calls (num=100, the demo's bodies) with each
/// coding at the service's default level: CPU per answer, and the bytes that go out.
void BM_compress_answer(benchmark::State &state) {
  const auto config = demo_config("http://127.0.0.1:9");
  const auto plan = std::get<agg::fanout::fan_out_plan>(agg::fanout::make_plan(config.routes[0], {{"num", "100"}}));
  std::vector<agg::stages::call_outcome> replies(plan.calls.size());
  for (std::size_t i = 0; i < replies.size(); ++i) {
    replies[i].reply.status = 200;
    replies[i].reply.body = R"({"message":"Hello World","task_id":")" + std::to_string(i) + "\"}";
  }
  const std::string answer = agg::fanout::render(agg::fanout::settle(plan, agg::fanout::execution_mode::async, replies,
                                                                     std::chrono::steady_clock::now()))
                                 .body;
  const agg::config::compression_config defaults;
  const auto coding = static_cast<agg::http::content_coding>(state.range(0));
  const int level = coding == agg::http::content_coding::gzip ? defaults.gzip_level
                    : coding == agg::http::content_coding::br ? defaults.br_level
                                                              : defaults.zstd_level;
  std::size_t sent = 0;
  for (auto _ : state) sent = agg::http::body_encoder::make(coding, level)->encode(answer, true).size();
  state.SetLabel(std::string{agg::http::to_string(coding)});
  state.counters["bytes_in"] = static_cast<double>(answer.size());
  state.counters["bytes_out"] = static_cast<double>(sent);
}
BENCHMARK(BM_compress_answer)
    ->Arg(static_cast<int>(agg::http::content_coding::gzip))
    ->Arg(static_cast<int>(agg::http::content_coding::br))
    ->Arg(static_cast<int>(agg::http::content_coding::zstd))
    ->Unit(benchmark::kMicrosecond);

/// A body of about `bytes`: {"data":{"items":[{"id":..,"name":..,"price":..,"tags":[..],"meta":{..}}, ...]},"page":..}
std::string large_body(std::size_t bytes) {
  std::string body = R"({"page":{"n":1,"of":9},"data":{"items":[)";
  for (std::size_t i = 0; body.size() < bytes; ++i)
    body += (i == 0 ? "" : ",") + std::string{R"({"id":)"} + std::to_string(i) + R"(,"name":"item )" +
            std::to_string(i) +
            R"(","price":12.5,"tags":["a","b","c"],"meta":{"created":"2026-12-01T00:00:00Z","owner":"u)" +
            std::to_string(i % 97) + R"("}})";
  return body + "]}}";
}

/// Shaping one 100 KB body as it arrives, in the aggregation's arena: select (1), allow (2), deny
/// (3), rename (4), all four (5); the parse before it is not timed. Arg 0 times the parse alone,
/// for scale.
void BM_shape_body(benchmark::State &state) {
  const std::string body = large_body(100 * 1024);
  agg::config::body_shape shape;
  switch (state.range(0)) {
    case 1: shape.select = "/data/items"; break;
    case 2: shape.allow = {"/page", "/data/items/0", "/data/items/500/meta"}; break;
    case 3: shape.deny = {"/page", "/data/items/0/meta", "/data/items/1"}; break;
    case 4: shape.rename = {{"/page", "/paging"}, {"/data/items", "/items"}}; break;
    case 5:
      shape = {.select = "/data", .allow = {"/items"}, .deny = {"/items/0"}, .rename = {{"/items", "/list"}}};
      break;
    default: break;
  }
  std::vector<std::string> notes;
  for (auto _ : state) {
    if (shape.empty()) {
      const boost::json::storage_ptr arena = boost::json::make_shared_resource<boost::json::monotonic_resource>();
      benchmark::DoNotOptimize(boost::json::parse(body, arena));
      continue;
    }
    state.PauseTiming();
    boost::json::storage_ptr arena = boost::json::make_shared_resource<boost::json::monotonic_resource>();
    std::optional<boost::json::value> v{boost::json::parse(body, arena)};
    state.ResumeTiming();
    agg::fanout::shape_body(shape, *v, notes);
    benchmark::DoNotOptimize(*v);
    state.PauseTiming();  // the tree's and the arena's release are not the shaping's either
    v.reset();
    arena = {};
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
// A fixed count: with the parse untimed, a time-based count would parse for minutes.
BENCHMARK(BM_shape_body)->DenseRange(0, 5)->Iterations(1000)->Unit(benchmark::kMicrosecond);

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

/// One aggregation of N calls to an in-process upstream answering after `delay` ms, async or sync.
/// `cpu_us_per_call` is the process's CPU time minus the upstream thread's, per upstream call: what
/// the aggregator's side (the calling thread and the upstream loop) spends on one call.
void fan_out(benchmark::State &state, agg::fanout::execution_mode mode) {
  const auto n = static_cast<std::size_t>(state.range(0));
  upstream::upstream_server upstream{
      upstream::upstream_options{"127.0.0.1", 0, std::chrono::milliseconds{state.range(1)}}};
  upstream.start();
  const auto config = demo_config("http://127.0.0.1:" + std::to_string(upstream.port()));
  agg::client::upstream_client client{config.client};
  const auto plan =
      std::get<agg::fanout::fan_out_plan>(agg::fanout::make_plan(config.routes[0], {{"num", std::to_string(n)}}));
  const double cpu_before = process_cpu_seconds();
  const auto upstream_before = upstream.cpu_time();
  for (auto _ : state) {
    const auto result = mode == agg::fanout::execution_mode::async ? agg::fanout::run_async(client, plan)
                                                                   : agg::fanout::run_sync(client.options(), plan);
    if (!result.complete()) state.SkipWithError("an upstream call failed");
  }
  const double upstream_cpu = std::chrono::duration<double>(upstream.cpu_time() - upstream_before).count();
  const double calls = static_cast<double>(state.iterations()) * static_cast<double>(n);
  state.counters["cpu_us_per_call"] = (process_cpu_seconds() - cpu_before - upstream_cpu) * 1e6 / calls;
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void BM_fan_out_async(benchmark::State &state) { fan_out(state, agg::fanout::execution_mode::async); }
void BM_fan_out_sync(benchmark::State &state) { fan_out(state, agg::fanout::execution_mode::sync); }
// {N, upstream delay in ms}; the sync N=1000 x 10 ms point takes 10 s per iteration.
BENCHMARK(BM_fan_out_async)->ArgsProduct({{1, 10, 100, 1000}, {0, 10}})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_fan_out_sync)->ArgsProduct({{1, 10, 100, 1000}, {0, 10}})->UseRealTime()->Unit(benchmark::kMillisecond);

/// One admin change (a PATCH of one route's timeout) among N routes, saved to a config file: what
/// the admin API costs at that size (checks, the new table, the file written and flushed).
void BM_admin_change(benchmark::State &state) {
  const auto n = static_cast<int>(state.range(0));
  const bool saved = state.range(1) != 0;
  std::string text = R"({"routes":[)";
  for (int i = 0; i < n; ++i)
    text += std::string{i == 0 ? "" : ","} + R"({"name":"r)" + std::to_string(i) + R"(","path":"/api/r)" +
            std::to_string(i) + R"(","upstreams":[{"url":"http://127.0.0.1:9008/api/?task_id={i}","repeat":true}]})";
  text += "]}";
  const auto file =
      std::filesystem::temp_directory_path() / ("agg-admin-bench-" + std::to_string(::getpid()) + ".json");
  std::ofstream{file} << text;
  auto loaded = agg::config::parse_config_document(text);
  auto &[config, document] = std::get<agg::config::config_document>(loaded);
  agg::config::live_routes routes{std::move(config.routes), saved ? file.string() : std::string{}, std::move(document)};
  long timeout = 1000;
  for (auto _ : state) {
    const auto patch = boost::json::parse(R"({"timeout_ms":)" + std::to_string(++timeout % 5000 + 1) + "}");
    if (routes.patch("r" + std::to_string(n / 2), patch).index() != 0) state.SkipWithError("the change was refused");
  }
  std::filesystem::remove(file);
}
BENCHMARK(BM_admin_change)->ArgsProduct({{1000, 6000}, {0, 1}})->Unit(benchmark::kMillisecond);

/// One JWT verified (arg 0: RS256 or ES256; arg 1: cold, every signature checked, or cached, the
/// same token again as a client reusing it sends): the CPU the identity filter adds per request.
void BM_jwt_verify(benchmark::State &state) {
  const bool ec = state.range(0) != 0;
  const bool cached = state.range(1) != 0;
  const auto key = agg::testing::make_key("k", ec ? "ES256" : "RS256");
  auto keys =
      agg::auth::key_set::parse_jwks(agg::testing::jwks_of({agg::testing::public_jwk(key)}), {"RS256", "ES256"});
  const agg::auth::jwt_verifier verifier{agg::auth::jwt_rules{}, std::get<agg::auth::key_set>(std::move(keys))};
  const std::string token = agg::testing::mint(key, agg::testing::claims_for("alice", {{"scope", "orders:read"}}));
  const auto now = agg::auth::jwt_verifier::clock::now();
  for (auto _ : state) {
    auto result = cached ? verifier.verify(token, now) : verifier.verify_uncached(token, now);
    if (result.index() != 0) state.SkipWithError("the token was refused");
    benchmark::DoNotOptimize(result);
  }
  state.SetLabel(std::string{ec ? "ES256" : "RS256"} + (cached ? " cached" : " cold"));
}
BENCHMARK(BM_jwt_verify)->ArgsProduct({{0, 1}, {0, 1}})->Unit(benchmark::kMicrosecond);

/// One API key looked up (its SHA-256 and a hash map).
void BM_api_key(benchmark::State &state) {
  std::string file;
  for (int i = 0; i < 1000; ++i)
    file += "key-" + std::to_string(i) + " sha256:" + agg::auth::sha256_hex("secret-" + std::to_string(i)) + "\n";
  const auto parsed = agg::auth::api_keys::parse(file);
  const auto &keys = std::get<agg::auth::api_keys>(parsed);
  for (auto _ : state) benchmark::DoNotOptimize(keys.name_of("secret-500"));
}
BENCHMARK(BM_api_key);

/// One rate-limit decision (GCRA) for one key among arg keys in the LRU.
void BM_rate_limit_decision(benchmark::State &state) {
  const auto keys = static_cast<std::size_t>(state.range(0));
  agg::quota::rate_limiter limiter{keys};
  std::vector<std::string> names;
  for (std::size_t i = 0; i < keys; ++i) names.push_back("jwt:user-" + std::to_string(i));
  const agg::quota::rate rate{1e9, 1e9};
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(limiter.charge(names[i], 1, rate));
    i = i + 1 == keys ? 0 : i + 1;
  }
}
BENCHMARK(BM_rate_limit_decision)->Arg(1)->Arg(100'000);

}  // namespace

BENCHMARK_MAIN();
