#include "aggregator/runtime/admission.hpp"

#include <catch2/catch.hpp>

#include <variant>

using agg::runtime::admission;

TEST_CASE("admission lets in up to its cap and frees a place when a ticket ends") {
  admission gate{2};
  auto first = gate.admit(std::stop_source{});
  auto second = gate.admit(std::stop_source{});
  REQUIRE(std::holds_alternative<admission::ticket>(first));
  REQUIRE(std::holds_alternative<admission::ticket>(second));
  CHECK(gate.in_flight() == 2);
  const auto third = gate.admit(std::stop_source{});
  REQUIRE(std::holds_alternative<admission::refusal>(third));
  CHECK(std::get<admission::refusal>(third) == admission::refusal::overloaded);
  CHECK(gate.in_flight() == 2);            // a refusal holds no place
  first = admission::refusal::overloaded;  // the first ticket ends
  CHECK(gate.in_flight() == 1);
  CHECK(std::holds_alternative<admission::ticket>(gate.admit(std::stop_source{})));
}

TEST_CASE("after shutdown begins nothing is admitted, and cancel_all stops every running one") {
  admission gate{10};
  std::stop_source a, b;
  auto ta = gate.admit(a);
  auto tb = gate.admit(b);
  gate.begin_shutdown();
  CHECK(std::get<admission::refusal>(gate.admit(std::stop_source{})) == admission::refusal::shutting_down);
  gate.cancel_all();
  CHECK(a.stop_requested());
  CHECK(b.stop_requested());
}
