#include "aggregator/stages/response_cache.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>

using namespace std::chrono_literals;
using agg::stages::cached_reply;
using agg::stages::response_cache;

namespace {

std::shared_ptr<const cached_reply> reply(std::string body, response_cache::clock::time_point fresh_until,
                                          response_cache::clock::duration stale = 0s) {
  auto r = std::make_shared<cached_reply>();
  r->body = std::move(body);
  r->fresh_until = fresh_until;
  r->stale_until = fresh_until + stale;
  return r;
}

}  // namespace

TEST_CASE("a cache finds what it keeps until its stale time, then drops it") {
  response_cache cache;
  const auto t = response_cache::clock::now();
  cache.store("a", reply("A", t + 1s, 1s), 1 << 20);
  REQUIRE(cache.find("a", t));
  CHECK(cache.find("a", t)->body == "A");
  CHECK(cache.find("a", t + 1500ms));  // past fresh, within stale
  CHECK_FALSE(cache.find("a", t + 2001ms));
  CHECK(cache.entries() == 0);
  CHECK(cache.bytes() == 0);
  CHECK_FALSE(cache.find("b", t));
}

TEST_CASE("a cache keeps at most its bytes, dropping the least recently used first") {
  response_cache cache;
  const auto t = response_cache::clock::now();
  const std::string body(1'000, 'x');
  cache.store("a", reply(body, t + 1h), 1 << 20);
  const std::size_t one = cache.bytes();
  REQUIRE(one > 1'000);
  const std::size_t room = 3 * one;
  cache.store("b", reply(body, t + 1h), room);
  cache.store("c", reply(body, t + 1h), room);
  CHECK(cache.find("a", t));  // a is now the most recent
  cache.store("d", reply(body, t + 1h), room);
  CHECK(cache.entries() == 3);
  CHECK(cache.bytes() <= room);
  CHECK_FALSE(cache.find("b", t));  // b was the least recently used
  CHECK(cache.find("a", t));
  CHECK(cache.find("c", t));
  CHECK(cache.find("d", t));
}

TEST_CASE("a cache replaces an entry under the same key and never keeps one larger than all it may hold") {
  response_cache cache;
  const auto t = response_cache::clock::now();
  cache.store("a", reply("old", t + 1h), 1 << 20);
  cache.store("a", reply("new", t + 1h), 1 << 20);
  CHECK(cache.entries() == 1);
  CHECK(cache.find("a", t)->body == "new");
  cache.store("big", reply(std::string(10'000, 'x'), t + 1h), 5'000);
  CHECK_FALSE(cache.find("big", t));
  CHECK(cache.find("a", t));
}
