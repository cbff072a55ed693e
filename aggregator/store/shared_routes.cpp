#include "aggregator/store/shared_routes.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <future>

namespace agg::store {

namespace json = boost::json;

namespace {

using level = config::log_config::level;

// KEYS: the table, its version. ARGV: the version expected, the next one, the definitions, the
// channel. Writes both and publishes the new version only when the stored version is the one
// expected (none stored: 0); returns {1, next} or {0, the stored version}.
constexpr const char *compare_and_set_lua = R"lua(
local stored = tonumber(redis.call('GET', KEYS[2]) or '0')
if stored ~= tonumber(ARGV[1]) then return {0, stored} end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('PUBLISH', ARGV[4], ARGV[2])
return {1, tonumber(ARGV[2])}
)lua";

constexpr auto check_every = std::chrono::milliseconds{500};  // a missed message costs half a second at most

}  // namespace

shared_routes::shared_routes(redis_store &store, config::live_routes &routes, const runtime::service_log &log)
    : store_(store),
      routes_(routes),
      log_(log),
      loop_(store.link(0).loop()),
      table_key_(store.key("routes")),
      version_key_(store.key("routes:version")),
      channel_(store.key("routes")) {
  store.subscribe(
      channel_, [this](std::string_view, std::string_view) { loop_.post([this] { check(); }); },
      [this] { check(); });  // messages may have been missed while the subscriber was away
}

shared_routes::~shared_routes() {
  if (hooked_) loop_.remove_hooks(*this);
}

void shared_routes::start() {
  routes_.share(*this);
  loop_.call([this] {
    loop_.add_hooks(*this);
    hooked_ = true;
    next_check_ = loop::clock::now();
  });
  static_cast<void>(compared_.get_future().wait_for(store_.config().timeout * 4));
}

void shared_routes::on_round(loop::clock::time_point now) {
  if (stopping_ || !next_check_ || *next_check_ > now) return;
  // Until Redis has answered once, every few milliseconds: the start waits for that answer.
  next_check_ = now + (said_compared_ ? check_every : std::chrono::milliseconds{10});
  check();
}

coro::task<shared_routes::stored> shared_routes::read_table() {
  auto sent = store_.link(0).command({"MGET", version_key_, table_key_});
  const result answer = co_await sent;
  const auto *r = std::get_if<reply>(&answer);
  if (r == nullptr || r->type != reply::kind::array || r->elements.size() != 2)
    co_return unavailable{why_unanswered(answer)};
  const reply &version = r->elements[0];
  const reply &table = r->elements[1];
  if (version.type == reply::kind::nil) co_return std::pair{std::uint64_t{0}, json::array{}};
  boost::system::error_code error;
  json::value parsed = json::parse(table.text, error);
  std::uint64_t number = 0;
  try {
    number = std::stoull(version.text);
  } catch (const std::exception &) {
    error = std::make_error_code(std::errc::invalid_argument);
  }
  if (error || !parsed.is_array())
    co_return unavailable{"the shared table in " + table_key_ + " (version " + version.text + ") is not a JSON array"};
  co_return std::pair{number, std::move(parsed.as_array())};
}

coro::task<shared_routes::written> shared_routes::write_table(std::uint64_t expected, std::uint64_t next,
                                                              std::string definitions) {
  static const std::string script{compare_and_set_lua};
  const std::string expected_text = std::to_string(expected);
  const std::string next_text = std::to_string(next);
  auto sent = store_.link(0).command(
      {"EVAL", script, "2", table_key_, version_key_, expected_text, next_text, definitions, channel_});
  const result answer = co_await sent;
  const auto *r = std::get_if<reply>(&answer);
  if (r == nullptr || r->type != reply::kind::array || r->elements.size() != 2)
    co_return unavailable{why_unanswered(answer)};
  if (r->elements[0].integer == 1) co_return static_cast<std::uint64_t>(r->elements[1].integer);
  co_return stale{static_cast<std::uint64_t>(r->elements[1].integer)};
}

void shared_routes::complain(std::string problem) {
  if (problem == last_problem_) return;  // said already: the next check meets the same table
  log_.event(level::error, problem);
  last_problem_ = std::move(problem);
}

coro::detached shared_routes::check() {
  if (checking_ || stopping_) co_return;
  checking_ = true;
  const stored now = co_await read_table();
  const auto *table = std::get_if<std::pair<std::uint64_t, json::array>>(&now);
  const config::live_routes::versioned mine = routes_.current_versioned();
  if (table == nullptr) {
    if (store_.link(0).up()) complain("routes: " + std::get<unavailable>(now).why);
  } else if (table->first > mine.version) {
    if (auto problems = routes_.adopt(table->first, table->second); !problems.empty())
      complain("routes: the shared table's version " + std::to_string(table->first) + " is not valid (" +
               to_string(problems.front()) + "); the routes in force keep serving");
    else
      log_.event(level::info, "routes: serving the shared table's version " + std::to_string(table->first) + " (" +
                                  std::to_string(table->second.size()) + " routes)");
  } else if (table->first < mine.version) {
    // Empty (a new Redis, or one restarted without persistence) or behind: it gets this table, with
    // a version past both, so that every replica takes it.
    const std::uint64_t next = mine.version + 1;
    const written w =
        co_await write_table(table->first, next, json::serialize(config::live_routes::definitions_of(*mine.table)));
    if (std::holds_alternative<std::uint64_t>(w)) {
      static_cast<void>(routes_.adopt(next, config::live_routes::definitions_of(*mine.table)));
      log_.event(level::info,
                 "routes: the shared table was " +
                     (table->first == 0 ? std::string{"empty"} : "at version " + std::to_string(table->first)) +
                     "; stored this replica's " + std::to_string(mine.table->routes().size()) + " routes as version " +
                     std::to_string(next));
    }
  }
  checking_ = false;
  if (table != nullptr && !said_compared_) {
    said_compared_ = true;
    compared_.set_value();
  }
}

namespace {

/// Runs `work` (a task on `loop`) from another thread and waits for its result; `down` when the
/// loop has stopped.
template <typename T, typename Work>
T on_loop(loop::event_loop &loop, Work work, T down) {
  std::promise<T> done;
  auto result = done.get_future();
  const auto run = [](Work w, std::promise<T> &out) -> coro::detached { out.set_value(co_await w()); };
  if (!loop.post([&] { run(std::move(work), done); })) return down;
  return result.get();
}

}  // namespace

shared_routes::stored shared_routes::get() {
  return on_loop<stored>(
      loop_, [this] { return read_table(); }, unavailable{"the service is stopping"});
}

shared_routes::written shared_routes::put(std::uint64_t expected, std::uint64_t next, const json::array &definitions) {
  return on_loop<written>(
      loop_, [this, expected, next, text = json::serialize(definitions)] { return write_table(expected, next, text); },
      unavailable{"the service is stopping"});
}

}  // namespace agg::store
