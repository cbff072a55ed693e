#include "aggregator/client/answer_sizes.hpp"

#include <catch2/catch.hpp>

using agg::client::answer_sizes;

TEST_CASE("an origin's calls read into the smallest buffer its recent answers fit in, up to the configured one") {
  answer_sizes sizes;
  CHECK(sizes.buffer_bytes(4'096) == 1'024);  // before any answer
  sizes.note(300);
  CHECK(sizes.buffer_bytes(4'096) == 1'024);
  sizes.note(1'025);
  CHECK(sizes.buffer_bytes(4'096) == 2'048);
  sizes.note(70'000);
  CHECK(sizes.buffer_bytes(4'096) == 4'096);  // never above the configured size
  CHECK(sizes.buffer_bytes(524'288) == 131'072);
  CHECK(sizes.buffer_bytes(1'024) == 1'024);
}

TEST_CASE("a large answer raises an origin's buffer at once, and small answers after bring it down slowly") {
  answer_sizes sizes;
  sizes.note(60'000);
  int small_answers = 0;
  while (sizes.buffer_bytes(65'536) > 1'024) {
    sizes.note(200);
    ++small_answers;
    REQUIRE(small_answers < 1'000);
  }
  // Forgetting 1/32 per answer: from 60 000 bytes down to 1 KiB takes about 130 answers.
  CHECK(small_answers > 100);
  CHECK(small_answers < 160);
  sizes.note(3'000);
  CHECK(sizes.buffer_bytes(65'536) == 4'096);
}
