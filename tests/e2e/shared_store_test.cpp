// State shared across replicas on Redis: the link each loop keeps (connect, commands, timeouts,
// reconnects), /ready and /metrics about it, and rate limits that replicas charge together, with
// their fallback while Redis is away. Each test starts its own redis-server on a free port.
#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "aggregator/coro/detached.hpp"
#include "aggregator/store/redis_link.hpp"
#include "tests/support/aggregator_binary.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/local_upstream.hpp"
#include "tests/support/nginx_proxy.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/routes.hpp"
#include "tests/support/running_service.hpp"
#include "tests/support/scratch_dir.hpp"
#include "tests/support/stream_reader.hpp"

using namespace std::chrono_literals;
using agg::testing::local_upstream;
using agg::testing::redis_server;
using agg::testing::running_service;
namespace store = agg::store;

namespace {

agg::coro::detached send_and_keep(store::redis_link &link, std::vector<std::string> args,
                                  std::promise<store::result> &done) {
  const std::vector<std::string_view> views(args.begin(), args.end());
  auto sent = link.command(views);
  done.set_value(co_await sent);
}

/// What `link` answers to `args`, sent from its loop.
store::result ask(store::redis_link &link, std::vector<std::string> args) {
  std::promise<store::result> done;
  auto answered = done.get_future();
  link.loop().post([&link, &args, &done] { send_and_keep(link, std::move(args), done); });
  return answered.get();
}

/// The reply's text, or why there was none.
std::string text_of(const store::result &r) {
  if (const auto *why = std::get_if<store::failure>(&r)) return "failed: " + std::string{to_string(*why)};
  return std::get<store::reply>(r).text;
}

/// One event loop with a link to `redis`.
struct linked_loop {
  agg::loop::event_loop loop;
  store::redis_link link;
  std::mutex mutex;
  std::vector<std::string> changes;  // what on_change said, guarded by mutex

  explicit linked_loop(store::link_settings settings)
      : link(loop, std::move(settings), [this](bool up, const std::string &why) {
          const std::lock_guard lock{mutex};
          changes.push_back((up ? "up: " : "down: ") + why);
        }) {
    loop.start();
    loop.call([this] { link.start(); });
  }
  ~linked_loop() { loop.stop(); }
  /// What on_change has said so far.
  std::vector<std::string> said() {
    const std::lock_guard lock{mutex};
    return changes;
  }
};

store::link_settings settings_for(const redis_server &redis, std::chrono::milliseconds timeout = 200ms) {
  store::link_settings s;
  s.port = redis.port();
  s.timeout = timeout;
  s.backoff_min = 10ms;
  s.backoff_max = 50ms;
  return s;
}

constexpr const char *store_admin_token = "admin-token-0123456789abcdef";

agg::config::access_tokens with_admin() {
  agg::config::access_tokens tokens;
  tokens.admin = store_admin_token;
  return tokens;
}

/// True once `service`'s /ready says Redis is `state` ("up" or "down").
bool redis_is(const running_service &service, const std::string &state) {
  const auto r = service.http().Get("/ready");
  return r && r->body.find("\"redis\":\"" + state + "\"") != std::string::npos;
}

/// `n` services (one loop each) sharing `redis`, each serving `/api/t` with `route_members` (after
/// a comma), and `store_members` in their store section; the admin API takes store_admin_token.
/// The route calls `upstream` with `query`.
std::vector<std::unique_ptr<running_service>> replicas(std::size_t n, const redis_server &redis,
                                                       const local_upstream &upstream, const std::string &route_members,
                                                       const std::string &store_members = {},
                                                       const std::string &query = "i={i}") {
  std::vector<std::unique_ptr<running_service>> all;
  for (std::size_t i = 0; i < n; ++i)
    all.push_back(std::make_unique<running_service>(
        agg::testing::config_from(R"({"server":{"listen":"127.0.0.1:0"},"client":{"loops":1},"store":{"redis_url":")" +
                                  redis.url() + R"(","timeout_ms":200)" + store_members +
                                  R"(},"routes":[{"name":"t","path":"/api/t")" + route_members +
                                  R"(,"upstreams":[{"url":")" + upstream.api(query) + R"(","repeat":true}]}]})"),
        with_admin()));
  for (const auto &r : all) REQUIRE(agg::testing::eventually([&r] { return redis_is(*r, "up"); }));
  return all;
}

/// The statuses of `count` requests for `target`, sent round robin over `services`.
std::vector<int> statuses(const std::vector<std::unique_ptr<running_service>> &services, int count,
                          const std::string &target = "/api/t") {
  std::vector<int> got;
  for (int i = 0; i < count; ++i) {
    const auto r = services[static_cast<std::size_t>(i) % services.size()]->http().Get(target);
    got.push_back(r ? r->status : -1);
  }
  return got;
}

long count_of(const std::vector<int> &statuses, int status) {
  return std::count(statuses.begin(), statuses.end(), status);
}

/// The status a job's document says, or what came instead of a document.
std::string job_status(const httplib::Result &r) {
  if (!r) return "no answer";
  if (r->status != 200) return "answered " + std::to_string(r->status) + ": " + r->body;
  return boost::json::parse(r->body).at("status").as_string().c_str();
}

/// The id a job's POST answered with.
std::string job_id(const httplib::Result &created) {
  REQUIRE(created);
  REQUIRE(created->status == 202);
  return boost::json::parse(created->body).at("id").as_string().c_str();
}

/// Starts a job of `num` calls on route t of `service`: its id.
std::string start_job(const running_service &service, int num) {
  return job_id(service.http().Post("/api/jobs", R"({"route":"t","params":{"num":)" + std::to_string(num) + "}}",
                                    "application/json"));
}

}  // namespace

TEST_CASE("a Redis link connects on its loop, answers commands in order and binary-safe, and is up") {
  redis_server redis;
  linked_loop l{settings_for(redis)};
  REQUIRE(agg::testing::eventually([&l] { return l.link.up(); }));
  CHECK(text_of(ask(l.link, {"SET", "k", std::string{"a\0b", 3}})) == "OK");
  CHECK(text_of(ask(l.link, {"GET", "k"})) == std::string{"a\0b", 3});
  const auto wrong = ask(l.link, {"INCR", "k"});
  REQUIRE(std::holds_alternative<store::reply>(wrong));
  CHECK(std::get<store::reply>(wrong).is_error());  // an error reply is an answer: the link stays up
  CHECK(l.link.up());
  CHECK(l.link.counts().replies == 3);
  l.loop.stop();
  REQUIRE_FALSE(l.changes.empty());
  CHECK(l.changes.front().starts_with("up: connected to 127.0.0.1:"));
}

TEST_CASE("a silent Redis fails a command by its timeout, and the link reconnects once Redis answers again") {
  redis_server redis;
  linked_loop l{settings_for(redis, 100ms)};
  REQUIRE(agg::testing::eventually([&l] { return l.link.up(); }));
  redis.pause();  // connected, and silent
  const auto started = std::chrono::steady_clock::now();
  const auto r = ask(l.link, {"PING"});
  REQUIRE(std::holds_alternative<store::failure>(r));
  CHECK(std::get<store::failure>(r) == store::failure::timeout);
  CHECK(std::chrono::steady_clock::now() - started < 2s);
  CHECK_FALSE(l.link.up());
  CHECK(std::get<store::failure>(ask(l.link, {"PING"})) == store::failure::unavailable);  // at once, not queued
  redis.resume();
  REQUIRE(agg::testing::eventually([&l] { return l.link.up(); }));
  CHECK(text_of(ask(l.link, {"PING"})) == "PONG");
  CHECK(l.link.counts().timeouts == 1);
  CHECK(l.link.counts().disconnects == 1);
}

TEST_CASE("a Redis that goes away and comes back: commands fail at once meanwhile, the link reconnects by itself") {
  redis_server redis;
  linked_loop l{settings_for(redis)};
  REQUIRE(agg::testing::eventually([&l] { return l.link.up(); }));
  redis.stop();
  REQUIRE(agg::testing::eventually([&l] { return !l.link.up(); }));
  const auto r = ask(l.link, {"PING"});
  CHECK(std::get<store::failure>(r) == store::failure::unavailable);
  redis.start();
  REQUIRE(agg::testing::eventually([&l] { return l.link.up(); }));
  CHECK(text_of(ask(l.link, {"PING"})) == "PONG");
  CHECK(l.link.counts().connects == 2);
  l.loop.stop();
  // The log hears the loss once and the return once, not every failed retry.
  REQUIRE(l.changes.size() == 3);
  CHECK(l.changes[1].starts_with("down: lost the connection to 127.0.0.1:"));
  CHECK(l.changes[2].starts_with("up: "));
}

TEST_CASE("a Redis with a password: the link authenticates, and a wrong password keeps it down and says why") {
  redis_server redis{"s3cret-password"};
  auto right = settings_for(redis);
  right.password = "s3cret-password";
  right.db = 3;
  linked_loop good{right};
  REQUIRE(agg::testing::eventually([&good] { return good.link.up(); }));
  CHECK(text_of(ask(good.link, {"SET", "in-db-3", "x"})) == "OK");

  auto wrong = settings_for(redis);
  wrong.password = "not-the-password";
  linked_loop bad{wrong};
  REQUIRE(agg::testing::eventually([&bad] { return !bad.said().empty(); }, 5s));
  bad.loop.stop();
  CHECK_FALSE(bad.link.up());
  REQUIRE_FALSE(bad.changes.empty());
  CHECK(bad.changes.front().find("refused the connection's set-up") != std::string::npos);
}

TEST_CASE("three replicas share one rate limit through Redis: a burst of 10 is admitted once, not three times") {
  redis_server redis;
  local_upstream upstream;
  const auto services =
      replicas(3, redis, upstream, R"(,"rate_limit":{"key":"route","requests_per_s":0.5,"burst":10})");
  const auto got = statuses(services, 30);
  CHECK(count_of(got, 200) == 10);
  CHECK(count_of(got, 429) == 20);
  const auto refused = services[1]->http().Get("/api/t");
  REQUIRE(refused);
  CHECK(refused->status == 429);
  // Retry-After from Redis's clock: the next unit is 1/0.5 = 2 s away at most.
  const int retry = std::stoi(refused->get_header_value("Retry-After"));
  CHECK(retry >= 1);
  CHECK(retry <= 2);
  CHECK(refused->get_header_value("RateLimit").starts_with("\"requests\";r=0;t="));
  CHECK(boost::json::parse(refused->body).at("error").at("code") == "rate_limited");
  const auto metrics = services[0]->admin().Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("aggregator_redis_up 1") != std::string::npos);
  CHECK(metrics->body.find("aggregator_rate_limit_fallbacks_total 0") != std::string::npos);
}

TEST_CASE(
    "a shared limit of R per second holds across three replicas sending at once: R x T plus the burst, "
    "within 10 %") {
  redis_server redis;
  local_upstream upstream;
  const auto services = replicas(3, redis, upstream, R"(,"rate_limit":{"key":"route","requests_per_s":40,"burst":5})");
  std::atomic<long> admitted{0};
  const auto until = std::chrono::steady_clock::now() + 1500ms;
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> senders;
  for (const auto &s : services)
    senders.emplace_back([&admitted, &until, client = s->http()]() mutable {
      while (std::chrono::steady_clock::now() < until)
        if (const auto r = client.Get("/api/t"); r && r->status == 200) ++admitted;
    });
  for (auto &t : senders) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double expected = 40 * seconds + 5;
  INFO("admitted " << admitted.load() << " in " << seconds << " s; expected " << expected);
  CHECK(static_cast<double>(admitted.load()) >= expected * 0.9);
  CHECK(static_cast<double>(admitted.load()) <= expected * 1.1);
}

TEST_CASE("calls limits and jobs are charged to the shared count too") {
  redis_server redis;
  local_upstream upstream;
  const auto services =
      replicas(2, redis, upstream,
               R"(,"num":{"default":4,"max":10},"rate_limit":{"key":"route","calls_per_s":0.1,"burst_calls":10})");
  CHECK(services[0]->http().Get("/api/t")->status == 200);  // 4 calls
  CHECK(services[1]->http().Get("/api/t")->status == 200);  // 8
  const auto over = services[0]->http().Get("/api/t");      // 12 > 10
  REQUIRE(over);
  CHECK(over->status == 429);
  CHECK(boost::json::parse(over->body).at("error").at("code") == "calls_rate_limited");
  // A job on the route asks the same count: 2 calls fit, 4 do not.
  const auto fits = services[1]->http().Post("/api/jobs", R"({"route":"t","params":{"num":2}})", "application/json");
  REQUIRE(fits);
  CHECK(fits->status == 202);
  const auto too_many = services[0]->http().Post("/api/jobs", R"({"route":"t"})", "application/json");
  REQUIRE(too_many);
  CHECK(too_many->status == 429);
}

TEST_CASE(
    "Redis stopped mid-load: limits fall back to each replica's own, aggregations keep answering, and the "
    "limit is shared again once it returns") {
  redis_server redis;
  local_upstream upstream;
  const auto services =
      replicas(2, redis, upstream, R"(,"rate_limit":{"key":"route","requests_per_s":0.01,"burst":3})");
  CHECK(count_of(statuses(services, 6), 200) == 3);  // shared: 3 in all
  redis.stop();
  for (const auto &s : services) REQUIRE(agg::testing::eventually([&s] { return redis_is(*s, "down"); }));
  // Each replica's own limiter: 3 each, and no error but the limit's own 429.
  const auto alone = statuses(services, 10);
  CHECK(count_of(alone, 200) == 6);
  CHECK(count_of(alone, 429) == 4);
  const auto ready = services[0]->http().Get("/ready");
  CHECK(ready->status == 200);  // ready_without_redis: true by default
  const auto metrics = services[0]->admin().Get("/metrics");
  CHECK(metrics->body.find("aggregator_redis_up 0") != std::string::npos);
  CHECK(metrics->body.find("aggregator_rate_limit_fallbacks_total 5") != std::string::npos);
  redis.start();  // empty: the shared count starts afresh
  for (const auto &s : services) REQUIRE(agg::testing::eventually([&s] { return redis_is(*s, "up"); }));
  CHECK(count_of(statuses(services, 6), 200) == 3);
}

TEST_CASE(
    "store.on_failure deny answers 503 while Redis is away, and ready_without_redis false takes the replica "
    "out of /ready") {
  redis_server redis;
  local_upstream upstream;
  const auto services = replicas(1, redis, upstream, R"(,"rate_limit":{"key":"route","requests_per_s":1,"burst":100})",
                                 R"(,"on_failure":"deny","ready_without_redis":false)");
  const running_service &s = *services[0];
  CHECK(s.http().Get("/ready")->status == 200);
  redis.stop();
  REQUIRE(agg::testing::eventually([&s] { return s.http().Get("/ready")->status == 503; }));
  CHECK(s.admin().Get("/ready")->body.starts_with(R"({"status":"not ready","redis":"down")"));
  const auto denied = s.http().Get("/api/t");
  REQUIRE(denied);
  CHECK(denied->status == 503);
  CHECK(denied->get_header_value("Retry-After") == "1");
  CHECK(boost::json::parse(denied->body).at("error").at("code") == "rate_limit_unavailable");
  redis.start();
  REQUIRE(agg::testing::eventually([&s] { return s.http().Get("/ready")->status == 200; }));
  CHECK(s.http().Get("/api/t")->status == 200);
}

namespace {

httplib::Client admin_of(const running_service &service) {
  httplib::Client c = service.admin();
  c.set_bearer_token_auth(store_admin_token);
  return c;
}

std::string new_route(const std::string &name, const local_upstream &upstream) {
  return R"({"name":")" + name + R"(","path":"/api/)" + name + R"(","upstreams":[{"url":")" + upstream.api("n=1") +
         R"("}]})";
}

}  // namespace

TEST_CASE(
    "a route added on one replica is served by the others within a second, and a replica started later "
    "serves it from its first request") {
  redis_server redis;
  local_upstream upstream;
  const auto services = replicas(3, redis, upstream, "");
  const auto added = admin_of(*services[0]).Post("/admin/routes", new_route("fresh", upstream), "application/json");
  REQUIRE(added);
  REQUIRE(added->status == 201);
  const auto at = std::chrono::steady_clock::now();
  for (const auto &s : services)
    CHECK(agg::testing::eventually([&s] { return s->http().Get("/api/fresh")->status == 200; }, 1s));
  CHECK(std::chrono::steady_clock::now() - at < 1s);
  const auto later = replicas(1, redis, upstream, "");
  CHECK(later[0]->http().Get("/api/fresh")->status == 200);
  CHECK(later[0]->routes().current()->routes().size() == 2);
}

TEST_CASE(
    "the shared table is compare-and-set: a change names the ETag it was made against, and a lost race is "
    "412") {
  redis_server redis;
  local_upstream upstream;
  const auto services = replicas(2, redis, upstream, "");
  const auto listed = admin_of(*services[0]).Get("/admin/routes");
  REQUIRE(listed);
  const std::string etag = listed->get_header_value("ETag");
  REQUIRE_FALSE(etag.empty());
  const httplib::Headers if_match{{"If-Match", etag}};
  const auto first =
      admin_of(*services[0]).Patch("/admin/routes/t", if_match, R"({"timeout_ms":1500})", "application/json");
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(first->get_header_value("ETag") != etag);
  // The other replica, against the same version: it lost the race.
  const auto second =
      admin_of(*services[1]).Patch("/admin/routes/t", if_match, R"({"timeout_ms":2500})", "application/json");
  REQUIRE(second);
  CHECK(second->status == 412);
  CHECK(boost::json::parse(second->body).at("error").at("code") == "precondition_failed");
  // Without a version, a change is made on the newest table, whichever replica takes it.
  const auto third = admin_of(*services[1]).Patch("/admin/routes/t", R"({"message":"third"})", "application/json");
  REQUIRE(third);
  CHECK(third->status == 200);

  REQUIRE(agg::testing::eventually(
      [&] {
        const auto now = boost::json::parse(admin_of(*services[0]).Get("/admin/routes/t")->body).as_object();
        return now.contains("message") && now.at("message") == "third" && now.at("timeout_ms") == 1500;
      },
      2s));
}

TEST_CASE("Redis restarted empty gets the replicas' table back, and changes go on reaching every replica") {
  redis_server redis;
  local_upstream upstream;
  const auto services = replicas(2, redis, upstream, "");
  REQUIRE(admin_of(*services[0]).Post("/admin/routes", new_route("kept", upstream), "application/json")->status == 201);
  REQUIRE(agg::testing::eventually([&] { return services[1]->http().Get("/api/kept")->status == 200; }, 2s));
  redis.stop();
  const auto refused = admin_of(*services[0]).Post("/admin/routes", new_route("lost", upstream), "application/json");
  REQUIRE(refused);
  CHECK(refused->status == 503);  // not accepted, so not lost: the client knows
  redis.start();
  REQUIRE(agg::testing::eventually(
      [&] {
        return admin_of(*services[1]).Post("/admin/routes", new_route("after", upstream), "application/json")->status ==
               201;
      },
      5s));
  CHECK(agg::testing::eventually([&] { return services[0]->http().Get("/api/after")->status == 200; }, 2s));
  CHECK(services[0]->http().Get("/api/kept")->status == 200);  // the table Redis got back had it
}

TEST_CASE("without a store the routes' ETag and If-Match work too") {
  local_upstream upstream;
  running_service service{
      agg::testing::config_from(R"({"server":{"listen":"127.0.0.1:0"},"routes":[)" + new_route("t", upstream) + "]}"),
      with_admin()};
  const std::string etag = admin_of(service).Get("/admin/routes/t")->get_header_value("ETag");
  CHECK(etag == "\"1\"");
  const httplib::Headers stale{{"If-Match", "\"7\""}};
  CHECK(admin_of(service).Patch("/admin/routes/t", stale, R"({"timeout_ms":900})", "application/json")->status == 412);
  const httplib::Headers current{{"If-Match", etag}};
  const auto done = admin_of(service).Patch("/admin/routes/t", current, R"({"timeout_ms":900})", "application/json");
  CHECK(done->status == 200);
  CHECK(done->get_header_value("ETag") == "\"2\"");
}

TEST_CASE("with a store, SIGHUP makes the file's routes the shared table, and the file is not written by changes") {
  redis_server redis;
  local_upstream upstream;
  agg::testing::scratch_dir dir;
  const auto text_with = [&](const std::string &routes) {
    return R"({"server":{"listen":"127.0.0.1:0"},"client":{"loops":1},"store":{"redis_url":")" + redis.url() +
           R"("},"routes":[)" + routes + "]}";
  };
  const std::string file = dir.file("config.json", text_with(new_route("t", upstream)));
  running_service with_file{agg::testing::config_from(text_with(new_route("t", upstream))), with_admin(), file};
  const auto others = replicas(1, redis, upstream, "");
  // An admin change is shared, and the file stays as it was.
  REQUIRE(admin_of(*others[0]).Post("/admin/routes", new_route("viaapi", upstream), "application/json")->status == 201);
  REQUIRE(agg::testing::eventually([&] { return with_file.http().Get("/api/viaapi")->status == 200; }, 2s));
  CHECK(agg::config::read_config_text(file) == text_with(new_route("t", upstream)));
  // The file edited and reloaded: its routes become every replica's.
  dir.file("config.json", text_with(new_route("t", upstream) + "," + new_route("fromfile", upstream)));
  const auto reloaded = with_file.routes().reload();
  REQUIRE(std::holds_alternative<agg::config::live_routes::reloaded>(reloaded));
  CHECK(agg::testing::eventually([&] { return others[0]->http().Get("/api/fromfile")->status == 200; }, 2s));
  CHECK(agg::testing::eventually([&] { return others[0]->http().Get("/api/viaapi")->status == 404; }, 2s));
}

TEST_CASE(
    "cache.shared: an answer one replica kept is a hit on another, the upstream called once, and Redis "
    "away is only a miss") {
  redis_server redis;
  local_upstream upstream;
  std::vector<std::unique_ptr<running_service>> services;
  for (int i = 0; i < 2; ++i)
    services.push_back(std::make_unique<running_service>(agg::testing::config_from(
        R"({"server":{"listen":"127.0.0.1:0"},"client":{"loops":1},"store":{"redis_url":")" + redis.url() +
        R"("},"routes":[{"name":"kept","path":"/api/kept","cache":{"ttl_ms":60000,"shared":true},)"
        R"("upstreams":[{"url":")" +
        upstream.api("task_id=1&key=shared-cache") + R"("}]}]})")));
  for (const auto &s : services) REQUIRE(agg::testing::eventually([&s] { return redis_is(*s, "up"); }));
  const auto first = services[0]->http().Get("/api/kept");
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(first->get_header_value("Cache-Status").find("miss") != std::string::npos);
  // Written beside the answer, not before it: the other replica asks once the entry is in Redis.
  linked_loop l{settings_for(redis)};
  REQUIRE(agg::testing::eventually([&] {
    const auto r = ask(l.link, {"KEYS", "agg:cache:kept:*"});
    return std::holds_alternative<store::reply>(r) && std::get<store::reply>(r).elements.size() == 1;
  }));
  const auto second = services[1]->http().Get("/api/kept");
  REQUIRE(second);
  CHECK(second->get_header_value("Cache-Status").find("hit") != std::string::npos);
  CHECK(upstream.calls("shared-cache") == 1);
  CHECK(boost::json::parse(services[1]->http().Get("/api/kept")->body).at("responses").at(0).at("task_id") == "1");
  const auto metrics = services[1]->admin().Get("/metrics");
  CHECK(metrics->body.find(R"(aggregator_upstream_cache_total{route="kept",result="shared_hit"} 1)") !=
        std::string::npos);
  // Redis away: the replica's own cache still answers, a new replica's call goes to the upstream.
  redis.stop();
  REQUIRE(agg::testing::eventually([&] { return redis_is(*services[0], "down"); }));
  CHECK(services[0]->http().Get("/api/kept")->status == 200);
  CHECK(upstream.calls("shared-cache") == 1);
}

TEST_CASE(
    "three replicas on one Redis behind nginx round robin: one shared limit, and a job created through it answers "
    "every poll, whichever replica the poll reaches") {
  redis_server redis;
  local_upstream upstream;
  const auto services =
      replicas(3, redis, upstream, R"(,"rate_limit":{"key":"header:X-Tenant","requests_per_s":0.01,"burst":6})");
  std::vector<int> ports;
  for (const auto &s : services) ports.push_back(s->port());
  agg::testing::nginx_proxy nginx{ports};  // as configs/nginx.conf: round robin, /api/jobs included
  REQUIRE(nginx.started());
  httplib::Client front{"127.0.0.1", nginx.port()};
  std::vector<int> got;
  for (int i = 0; i < 12; ++i) got.push_back(front.Get("/api/t", {{"X-Tenant", "a"}})->status);
  CHECK(count_of(got, 200) == 6);  // tenant a's burst, across the three replicas nginx spread them over
  CHECK(count_of(got, 429) == 6);
  // Another tenant's count. The record is in Redis before the 202: the first poll may reach any replica.
  const std::string id = job_id(front.Post("/api/jobs", R"({"route":"t"})", "application/json"));
  for (int i = 0; i < 6; ++i) CHECK(front.Get("/api/jobs/" + id)->status == 200);  // not 404 200 404 200
  for (const auto &s : services)  // every replica has the finished document within a write round
    CHECK(agg::testing::eventually([&] { return job_status(s->http().Get("/api/jobs/" + id)) == "done"; }, 5s));
  const auto read = boost::json::parse(services[2]->http().Get("/api/jobs/" + id)->body);
  CHECK(read.at("progress").at("done") == 10);  // the route's ten calls
  CHECK(read.at("result").at("succeeded") == 10);
  CHECK(front.Get("/api/jobs/0123456789abcdef0123456789abcdef")->status == 404);  // no such job, on any replica
}

TEST_CASE("a job cancelled through a replica that does not run it: its runner hears it and its call stops") {
  redis_server redis;
  local_upstream upstream;
  const auto services = replicas(3, redis, upstream, "", "", "delay_ms=60000&i={i}");
  const std::string id = start_job(*services[0], 1);
  REQUIRE(agg::testing::eventually([&] { return services[0]->upstream().transfers_in_flight() == 1; }));
  CHECK(job_status(services[1]->http().Get("/api/jobs/" + id)) == "running");
  CHECK(job_status(services[1]->http().Delete("/api/jobs/" + id)) == "cancelled");  // at once, as on the runner
  CHECK(job_status(services[2]->http().Get("/api/jobs/" + id)) == "cancelled");     // before the runner wrote it
  // The runner cancels the call (published on jobs:cancel), a minute before it would have ended.
  CHECK(agg::testing::eventually([&] { return services[0]->upstream().transfers_in_flight() == 0; }, 10s));
  CHECK(job_status(services[0]->http().Get("/api/jobs/" + id)) == "cancelled");
  // Its final document reaches the others: the call ended cancelled.
  CHECK(agg::testing::eventually(
      [&] {
        const auto r = services[2]->http().Get("/api/jobs/" + id);
        return r && r->status == 200 && !boost::json::parse(r->body).at("result").is_null();
      },
      5s));
  const auto final_view = boost::json::parse(services[2]->http().Get("/api/jobs/" + id)->body);
  CHECK(final_view.at("status") == "cancelled");
  CHECK(final_view.at("finished").at(0).at("outcome") == "cancelled");
}

TEST_CASE("Redis away: a replica answers its own jobs, and 503 (not 404) for a job another replica runs") {
  redis_server redis;
  local_upstream upstream;
  const auto services = replicas(2, redis, upstream, "", "", "delay_ms=60000&i={i}");
  const std::string id = job_id(services[0]->http().Post("/api/jobs", R"({"route":"t"})", "application/json"));
  CHECK(job_status(services[1]->http().Get("/api/jobs/" + id)) == "running");
  redis.stop();
  REQUIRE(agg::testing::eventually([&] { return redis_is(*services[1], "down"); }));
  CHECK(job_status(services[0]->http().Get("/api/jobs/" + id)) == "running");
  const auto away = services[1]->http().Get("/api/jobs/" + id);
  REQUIRE(away);
  CHECK(away->status == 503);
  CHECK(boost::json::parse(away->body).at("error").at("code") == "store_unavailable");
  // A job created while Redis is away still starts (its record is written once Redis is back).
  const std::string later = job_id(services[0]->http().Post("/api/jobs", R"({"route":"t"})", "application/json"));
  redis.start();
  CHECK(agg::testing::eventually([&] { return job_status(services[1]->http().Get("/api/jobs/" + later)) == "running"; },
                                 10s));
}

TEST_CASE("a job's stream read through a replica that does not run it: every call as it finishes, then the end") {
  redis_server redis;
  local_upstream upstream;
  const auto services = replicas(2, redis, upstream, "", "", "delay_ms=300&i={i}");
  const std::string id = start_job(*services[0], 3);
  agg::testing::stream_reader stream{services[1]->port(), "/api/jobs/" + id + "/stream"};
  const auto lines = stream.finish();
  CHECK(stream.status() == 200);
  REQUIRE(lines.size() == 4);
  std::set<std::int64_t> indexes;
  for (std::size_t i = 0; i < 3; ++i) {
    const auto call = boost::json::parse(lines[i]);
    CHECK(call.at("ok") == true);
    indexes.insert(call.at("index").as_int64());
  }
  CHECK(indexes == std::set<std::int64_t>{0, 1, 2});
  const auto last = boost::json::parse(lines[3]);
  CHECK(last.at("status") == "done");
  CHECK(last.at("result").at("succeeded") == 3);
}

TEST_CASE("a job's stream through nginx round robin: each call's frame as it finishes, not once the job ends") {
  redis_server redis;
  local_upstream upstream;
  // The first call the upstream gets hangs; the other two answer at once.
  const auto services = replicas(2, redis, upstream, "", "", "delay_ms=0&slow_first=1&slow_ms=60000&key=s&i={i}");
  std::vector<int> ports;
  for (const auto &s : services) ports.push_back(s->port());
  agg::testing::nginx_proxy nginx{ports};
  REQUIRE(nginx.started());
  httplib::Client front{"127.0.0.1", nginx.port()};
  const std::string id = job_id(front.Post("/api/jobs", R"({"route":"t","params":{"num":3}})", "application/json"));
  agg::testing::stream_reader stream{nginx.port(), "/api/jobs/" + id + "/stream"};
  const auto frames = [&stream] {
    const std::string got = stream.received();
    return std::count(got.begin(), got.end(), '\n');
  };
  REQUIRE(agg::testing::eventually([&] { return frames() == 2; }));  // the two fast calls, while it runs
  CHECK(job_status(front.Get("/api/jobs/" + id)) == "running");
  CHECK(job_status(front.Delete("/api/jobs/" + id)) == "cancelled");
  const auto lines = stream.finish();
  REQUIRE(lines.size() == 4);  // and the hung one, cancelled, then the job
  CHECK(boost::json::parse(lines[2]).at("outcome") == "cancelled");
  CHECK(boost::json::parse(lines[3]).at("status") == "cancelled");
}

TEST_CASE("a replica killed with SIGKILL mid-job: its job turns lost, with the reason, once its lease expires") {
  redis_server redis;
  local_upstream upstream;
  const std::string members =
      R"(,"store":{"redis_url":")" + redis.url() + R"(","timeout_ms":200},"jobs":{"lease_ms":1000})";
  std::optional<agg::testing::aggregator_binary> runner;
  runner.emplace(R"([{"name":"t","path":"/api/t","upstreams":[{"url":")" + upstream.api("delay_ms=60000") + R"("}]}])",
                 std::vector<std::string>{}, members);
  running_service reader{agg::testing::config_from(
      R"({"server":{"listen":"127.0.0.1:0"},"client":{"loops":1},"routes":[{"name":"t","path":"/api/t","upstreams":[{"url":")" +
      upstream.api("delay_ms=60000") + R"("}]}])" + members + "}")};
  REQUIRE(agg::testing::eventually([&] { return redis_is(reader, "up"); }));
  httplib::Client to_runner{"127.0.0.1", runner->port()};
  const std::string id = job_id(to_runner.Post("/api/jobs", R"({"route":"t"})", "application/json"));
  CHECK(job_status(reader.http().Get("/api/jobs/" + id)) == "running");
  runner->program().signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  REQUIRE(agg::testing::eventually([&] { return job_status(reader.http().Get("/api/jobs/" + id)) == "lost"; }, 10s));
  CHECK(std::chrono::steady_clock::now() - killed < 2s);  // the lease (1 s), and the reader's round trip
  const auto lost = boost::json::parse(reader.http().Get("/api/jobs/" + id)->body);  // and it stays lost
  CHECK(lost.at("status") == "lost");
  CHECK(std::string{lost.at("reason").as_string()}.find("jobs.lease_ms") != std::string::npos);
}

TEST_CASE("a shared table someone broke in Redis is refused: the replicas keep serving the routes in force") {
  redis_server redis;
  local_upstream upstream;
  const auto services = replicas(2, redis, upstream, "");
  linked_loop l{settings_for(redis)};
  REQUIRE(agg::testing::eventually([&l] { return l.link.up(); }));
  CHECK(text_of(ask(l.link, {"SET", "agg:routes", R"([{"name":"t","path":"/api/t"}])"})) == "OK");  // no upstreams
  CHECK(text_of(ask(l.link, {"SET", "agg:routes:version", "99"})) == "OK");
  const auto delivered = ask(l.link, {"PUBLISH", "agg:routes", "99"});
  REQUIRE(std::holds_alternative<store::reply>(delivered));
  CHECK(std::get<store::reply>(delivered).integer == 2);  // both replicas' subscribers heard it
  for (const auto &s : services) {
    CHECK(s->http().Get("/api/t")->status == 200);
    CHECK(s->routes().current_versioned().version < 99);
  }
  // A valid table after it is taken: the broken one did not wedge the checks.
  const std::string valid = "[" + new_route("t", upstream) + "," + new_route("mended", upstream) + "]";
  CHECK(text_of(ask(l.link, {"SET", "agg:routes", valid})) == "OK");
  CHECK(text_of(ask(l.link, {"SET", "agg:routes:version", "100"})) == "OK");
  for (const auto &s : services)
    CHECK(agg::testing::eventually([&s] { return s->http().Get("/api/mended")->status == 200; }, 2s));
}

TEST_CASE("coalesce.across_replicas: two replicas make 20 identical slow calls into one upstream call") {
  redis_server redis;
  local_upstream upstream;
  const auto services = replicas(2, redis, upstream, R"(,"coalesce":{"across_replicas":true})", "",
                                 "delay_ms=500&key=across&task_id={i}");
  std::vector<std::thread> clients;
  std::mutex mutex;
  std::vector<std::string> answers;  // guarded by mutex
  for (int i = 0; i < 20; ++i)
    clients.emplace_back([&, i] {
      const auto r = services[static_cast<std::size_t>(i % 2)]->http().Get("/api/t?num=1");
      const std::lock_guard lock{mutex};
      answers.push_back(r ? std::to_string(r->status) + " " + r->body : "no answer");
    });
  for (auto &c : clients) c.join();
  CHECK(upstream.calls("across") == 1);
  for (const auto &a : answers) {
    REQUIRE(a.starts_with("200 "));
    const auto doc = boost::json::parse(a.substr(4));
    CHECK(doc.at("responses").at(0).at("task_id") == "0");  // the one answer, as every replica got it
  }
  // One replica's transfer answered the other's (which its own 9 other calls had joined).
  const auto counted = [&](std::size_t i) {
    const auto m = services[i]->admin().Get("/metrics");
    return m &&
           m->body.find(R"(aggregator_upstream_coalesced_across_replicas_total{route="t"} 1)") != std::string::npos;
  };
  CHECK(counted(0) != counted(1));
}

TEST_CASE(
    "coalesce.across_replicas: a call waits for the identical call in flight, never takes an earlier one's "
    "answer") {
  redis_server redis;
  local_upstream upstream;
  const auto services =
      replicas(2, redis, upstream, R"(,"coalesce":{"across_replicas":true})", "", "delay_ms=500&key=again&task_id=x");
  CHECK(services[0]->http().Get("/api/t?num=1")->status == 200);  // its answer stays in Redis a while
  auto in_flight = std::async(std::launch::async, [&] { return services[0]->http().Get("/api/t?num=1"); });
  REQUIRE(agg::testing::eventually([&] { return services[0]->upstream().transfers_in_flight() == 1; }));
  const auto joined = services[1]->http().Get("/api/t?num=1");
  REQUIRE(joined);
  CHECK(joined->status == 200);
  CHECK(services[0]->upstream().transfers_in_flight() == 0);  // answered once the call in flight was
  CHECK(in_flight.get()->status == 200);
  CHECK(upstream.calls("again") == 2);
  CHECK(services[1]
            ->admin()
            .Get("/metrics")
            ->body.find(R"(aggregator_upstream_coalesced_across_replicas_total{route="t"} 1)") != std::string::npos);
}

TEST_CASE(
    "coalesce.across_replicas: a leader killed mid-call holds the others until its lease expires, then they "
    "call themselves") {
  redis_server redis;
  local_upstream upstream;
  const std::string route =
      R"([{"name":"t","path":"/api/t","coalesce":{"across_replicas":true},"upstreams":[{"url":")" +
      upstream.api("delay_ms=0&slow_first=1&slow_ms=60000&key=dead") + R"("}]}])";  // 1st hangs
  const std::string members =
      R"(,"store":{"redis_url":")" + redis.url() + R"(","timeout_ms":200},"jobs":{"lease_ms":1000})";
  agg::testing::aggregator_binary leader{route, {}, members};
  running_service follower{
      agg::testing::config_from(R"({"server":{"listen":"127.0.0.1:0"},"client":{"loops":1},"routes":)" + route +
                                members + "}"),
      with_admin()};
  REQUIRE(agg::testing::eventually([&] { return redis_is(follower, "up"); }));
  linked_loop l{settings_for(redis)};
  REQUIRE(agg::testing::eventually([&l] { return l.link.up(); }));
  const auto keys = [&l](const std::string &pattern) {
    const auto r = ask(l.link, {"KEYS", pattern});
    return std::holds_alternative<store::reply>(r) ? std::get<store::reply>(r).elements.size() : 99;
  };
  auto hung = std::async(std::launch::async, [port = leader.port()] {
    httplib::Client c{"127.0.0.1", port};
    return c.Get("/api/t");  // no answer: the replica dies
  });
  REQUIRE(agg::testing::eventually([&] { return upstream.calls("dead") == 1; }));
  REQUIRE(keys("agg:co:*:lock") == 1);                                            // the leader's, for its call's 10 s
  REQUIRE(agg::testing::eventually([&] { return keys("agg:replica:*") == 2; }));  // both replicas' leases
  leader.program().signal(SIGKILL);
  const auto answer = follower.http().Get("/api/t");
  REQUIRE(answer);
  INFO(answer->body);
  CHECK(answer->status == 200);
  CHECK(keys("agg:replica:*") == 1);   // it answered once the leader's lease (1 s) had expired,
  CHECK(keys("agg:co:*:lock") == 1);   // long before the lock would have
  CHECK(upstream.calls("dead") == 2);  // then called itself, and was answered
  CHECK(boost::json::parse(answer->body).at("responses").at(0).at("message") == "Hello World");
  CHECK(follower.admin()
            .Get("/metrics")
            ->body.find(R"(aggregator_upstream_coalesced_across_replicas_total{route="t"} 0)") != std::string::npos);
  static_cast<void>(hung.get());
}

TEST_CASE("coalesce.across_replicas with Redis away: each replica calls on its own, nothing fails") {
  redis_server redis;
  local_upstream upstream;
  const auto services = replicas(2, redis, upstream, R"(,"coalesce":{"across_replicas":true})", "", "key=alone&i={i}");
  redis.stop();
  REQUIRE(agg::testing::eventually([&] { return redis_is(*services[0], "down") && redis_is(*services[1], "down"); }));
  CHECK(statuses(services, 4, "/api/t?num=1") == std::vector<int>{200, 200, 200, 200});
  CHECK(upstream.calls("alone") == 4);
}
