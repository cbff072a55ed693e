#include "aggregator/stages/cache_control.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using agg::stages::parse_cache_control;

TEST_CASE("Cache-Control directives are read in any case, with token or quoted arguments") {
  const auto d = parse_cache_control(R"(Public, MAX-AGE=60, s-maxage="120", community="UCI")");
  CHECK(d.storable());
  CHECK(d.max_age == 60s);
  CHECK(d.s_maxage == 120s);
  CHECK(d.lifetime() == 120s);  // a shared cache's own max-age comes first
}

TEST_CASE("no-store, no-cache and private keep a response out of a shared cache") {
  CHECK_FALSE(parse_cache_control("no-store").storable());
  CHECK_FALSE(parse_cache_control("max-age=60, no-cache").storable());
  CHECK_FALSE(parse_cache_control(R"(private="set-cookie", max-age=60)").storable());
  CHECK(parse_cache_control("").storable());
  CHECK_FALSE(parse_cache_control("").lifetime());
}

TEST_CASE("a malformed max-age gives no lifetime, and spaces around directives do not matter") {
  CHECK_FALSE(parse_cache_control("max-age=soon").max_age);
  CHECK_FALSE(parse_cache_control("max-age=-5").max_age);
  CHECK(parse_cache_control("  max-age=5 ,  ").max_age == 5s);
  // RFC 9111 §1.2.2: a delta-seconds too large to represent counts as 2^31.
  CHECK(parse_cache_control("max-age=99999999999999999999").max_age == std::chrono::seconds{2147483648LL});
}
