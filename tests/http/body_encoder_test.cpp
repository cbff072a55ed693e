#include "aggregator/http/body_encoder.hpp"

#include <catch2/catch.hpp>

#include <string>

#include "tests/support/content_decoding.hpp"

using agg::http::choose_coding;
using agg::http::content_coding;

namespace {

/// What a client of `coding` decodes from `bytes` (all that has arrived so far).
std::string decoded(content_coding coding, const std::string &bytes) {
  const auto text = agg::testing::decoded_body(agg::http::to_string(coding), bytes);
  REQUIRE(text);
  return *text;
}

}  // namespace

TEST_CASE("each piece of a stream is decodable as soon as it is sent, and the whole decodes to what went in") {
  for (const auto coding : {content_coding::gzip, content_coding::br, content_coding::zstd}) {
    INFO(agg::http::to_string(coding));
    auto encoder = agg::http::body_encoder::make(coding, 3, true);  // as a stream's, small windows
    std::string sent;
    std::string expected;
    for (int line = 0; line < 3; ++line) {
      const std::string text = R"({"index":)" + std::to_string(line) +
                               R"(,"body":{"message":"Hello World"}})"
                               "\n";
      expected += text;
      sent += encoder->encode(text, false);
      CHECK(decoded(coding, sent) == expected);  // flushed: nothing waits for the next piece
    }
    sent += encoder->encode({}, true);
    CHECK(decoded(coding, sent) == expected);
  }
}

TEST_CASE("a whole body compresses, and decodes to what went in") {
  std::string body = R"({"responses":[)";
  for (int i = 0; i < 200; ++i)
    body += std::string{i == 0 ? "" : ","} + R"({"message":"Hello World","task_id":")" + std::to_string(i) + "\"}";
  body += "]}";
  for (const auto coding : {content_coding::gzip, content_coding::br, content_coding::zstd}) {
    INFO(agg::http::to_string(coding));
    const std::string sent = agg::http::body_encoder::make(coding, 4)->encode(body, true);
    CHECK(sent.size() * 5 < body.size());
    CHECK(decoded(coding, sent) == body);
  }
}

TEST_CASE("the coding follows Accept-Encoding's q-values, then the service's preference") {
  const agg::http::enabled_codings all;
  const auto choose = [&](const char *header) { return choose_coding(std::string{header}, all); };
  CHECK(choose_coding(std::nullopt, all) == content_coding::identity);
  CHECK(choose("gzip") == content_coding::gzip);
  CHECK(choose("gzip, deflate, br") == content_coding::br);
  CHECK(choose("gzip, deflate, br, zstd") == content_coding::zstd);
  CHECK(choose("br;q=0.5, gzip;q=0.9") == content_coding::gzip);
  CHECK(choose("GZIP") == content_coding::gzip);
  CHECK(choose("*") == content_coding::zstd);
  CHECK(choose("*;q=0.1, zstd;q=0, br;q=0") == content_coding::gzip);
  CHECK(choose("gzip;q=0") == content_coding::identity);
  CHECK(choose("identity") == content_coding::identity);
  CHECK(choose("deflate, compress") == content_coding::identity);
  CHECK(choose("gzip;q=2") == content_coding::identity);  // no such weight: accepts nothing
  CHECK(choose("gzip;q=abc") == content_coding::identity);
  CHECK(choose(",,, ;;") == content_coding::identity);  // unreadable: as if absent
  CHECK(choose_coding(std::string{"zstd, br, gzip"}, {.gzip = true, .br = false, .zstd = false}) ==
        content_coding::gzip);
}
