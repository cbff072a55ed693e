#include "aggregator/http/loop_guard.hpp"

#include <catch2/catch.hpp>

using agg::http::hop_lines;
using agg::http::instance_via;
using agg::http::loop_refusal;

TEST_CASE("this instance's Via entry names it, the same for the process's life") {
  CHECK(instance_via().starts_with("1.1 aggregator-"));
  CHECK(instance_via().size() == 31);
  CHECK(instance_via() == instance_via());
}

TEST_CASE("a request that passed through this instance, or through max_hops aggregators, is refused") {
  const std::string self{instance_via()};
  CHECK_FALSE(loop_refusal(std::nullopt, std::nullopt, 5));
  CHECK_FALSE(loop_refusal("1.1 nginx, 1.1 aggregator-0000000000000001", "4", 5));
  CHECK_THAT(*loop_refusal("1.1 nginx, " + self, "1", 5), Catch::Contains("passed through this aggregator already"));
  CHECK_THAT(*loop_refusal(std::nullopt, "5", 5),
             Catch::Contains("passed through 5 aggregators") && Catch::Contains("server.max_hops is 5"));
  CHECK_FALSE(loop_refusal(std::nullopt, "lots", 5));  // not a number: counts as none
  CHECK_FALSE(loop_refusal(std::nullopt, "-1", 5));
}

TEST_CASE("each call carries the Via chain with this instance appended and the hop count plus one") {
  CHECK(hop_lines(std::nullopt, std::nullopt) ==
        std::vector<std::string>{"Via: " + std::string{instance_via()}, "X-Aggregator-Hops: 1"});
  CHECK(hop_lines("1.1 nginx", "2") ==
        std::vector<std::string>{"Via: 1.1 nginx, " + std::string{instance_via()}, "X-Aggregator-Hops: 3"});
}
