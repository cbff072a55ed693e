#include "aggregator/http/loop_guard.hpp"

#include <catch2/catch.hpp>

using agg::http::aggregators_in;
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

TEST_CASE("the aggregators a Via header names are its entries received by an aggregator-… pseudonym") {
  CHECK(aggregators_in("") == 0);
  CHECK(aggregators_in("1.1 nginx") == 0);
  CHECK(aggregators_in("1.1 aggregator-00000000000000a1") == 1);
  CHECK(aggregators_in("1.0 fred, 1.1 aggregator-a1 (a, b), HTTP/1.1 aggregator-b2,1.1 aggregator-c3") == 3);
  CHECK(aggregators_in("1.1 edge (via aggregator-x1), 1.1 aggregators.example.com") == 0);  // a comment, a host
  CHECK(aggregators_in(" ,, 1.1\taggregator-a1 ,") == 1);
  CHECK(aggregators_in("1.1 edge (unclosed, 1.1 aggregator-a1") == 0);  // all one comment
}

TEST_CASE("the hop count is the aggregators in Via, or an earlier version's hop header when that says more") {
  const std::string three = "1.1 aggregator-a1, 1.1 proxy, 1.1 aggregator-b2, 1.1 aggregator-c3";
  CHECK_THAT(*loop_refusal(three, std::nullopt, 3),
             Catch::Contains("passed through 3 aggregators (its Via header)") && Catch::Contains("max_hops is 3"));
  CHECK_FALSE(loop_refusal(three, std::nullopt, 4));
  CHECK_THAT(*loop_refusal(three, "4", 4), Catch::Contains("passed through 4 aggregators (X-Aggregator-Hops)"));
  CHECK_THAT(*loop_refusal(three, "1", 3), Catch::Contains("its Via header"));
}

TEST_CASE("each call carries the Via chain with this instance appended, and no hop count header") {
  CHECK(hop_lines(std::nullopt) == std::vector<std::string>{"Via: " + std::string{instance_via()}});
  CHECK(hop_lines("1.1 nginx") == std::vector<std::string>{"Via: 1.1 nginx, " + std::string{instance_via()}});
  CHECK(aggregators_in(hop_lines("1.1 nginx, 1.1 aggregator-a1").front().substr(5)) == 2);
}
