#include "aggregator/config/character_rules.hpp"

#include <catch2/catch.hpp>

using agg::config::made_of;

TEST_CASE("made_of accepts letters, digits and the extra characters only, and never empty text") {
  CHECK(made_of("abc-09_X", "-_"));
  CHECK_FALSE(made_of("abc X", "-_"));
  CHECK_FALSE(made_of("", "-_"));
  CHECK(made_of("lower_case", "_", false));
  CHECK_FALSE(made_of("Upper", "_", false));
  CHECK_FALSE(made_of("caf\xc3\xa9", ""));
}
