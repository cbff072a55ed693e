#include "aggregator/client/upstream_client.hpp"

#include <catch2/catch.hpp>

#include <set>

using agg::client::client_options;
using agg::client::upstream_client;

TEST_CASE("the client hands out its loops round robin") {
  client_options options;
  options.loops = 3;
  options.shards_per_loop = 2;
  upstream_client client{options};
  std::set<const agg::client::upstream_loop *> seen;
  for (int i = 0; i < 6; ++i) seen.insert(&client.pick_loop());
  CHECK(seen.size() == 3);
  CHECK(client.transfers_in_flight() == 0);
}
