#include "aggregator/coro/outcome.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

using agg::coro::outcome;

TEST_CASE("an outcome holds a value or the exception instead") {
  outcome<std::string> good{std::string{"value"}};
  CHECK(good.has_value());
  CHECK(good.value() == "value");
  CHECK(good.error() == nullptr);

  outcome<std::string> bad{std::make_exception_ptr(std::runtime_error("broken"))};
  CHECK_FALSE(bad.has_value());
  CHECK(bad.error() != nullptr);
  CHECK_THROWS_WITH(bad.value(), "broken");
}

TEST_CASE("a void outcome records success or the exception") {
  outcome<void> good;
  CHECK(good.has_value());
  CHECK_NOTHROW(good.value());
  outcome<void> bad{std::make_exception_ptr(std::logic_error("no"))};
  CHECK_FALSE(bad.has_value());
  CHECK_THROWS_AS(bad.value(), std::logic_error);
}
