#include "aggregator/http/body_encoder.hpp"

#include <catch2/catch.hpp>

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include <string>

using agg::http::choose_coding;
using agg::http::content_coding;

namespace {

std::string gunzip(const std::string &bytes) {
  z_stream z{};
  REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef *>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_SYNC_FLUSH);
  CHECK((rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR));
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

std::string unbrotli(const std::string &bytes) {
  BrotliDecoderState *state = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  std::string out(1 << 20, '\0');
  std::size_t in_left = bytes.size();
  const auto *next_in = reinterpret_cast<const std::uint8_t *>(bytes.data());
  std::size_t out_left = out.size();
  auto *next_out = reinterpret_cast<std::uint8_t *>(out.data());
  const auto rc = BrotliDecoderDecompressStream(state, &in_left, &next_in, &out_left, &next_out, nullptr);
  CHECK(rc != BROTLI_DECODER_RESULT_ERROR);
  out.resize(out.size() - out_left);
  BrotliDecoderDestroyInstance(state);
  return out;
}

std::string unzstd(const std::string &bytes) {
  ZSTD_DCtx *context = ZSTD_createDCtx();
  std::string out(1 << 20, '\0');
  ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
  ZSTD_outBuffer buffer{out.data(), out.size(), 0};
  while (in.pos < in.size) CHECK(ZSTD_isError(ZSTD_decompressStream(context, &buffer, &in)) == 0);
  out.resize(buffer.pos);
  ZSTD_freeDCtx(context);
  return out;
}

/// What a client of `coding` decodes from `bytes` (all that has arrived so far).
std::string decoded(content_coding coding, const std::string &bytes) {
  return coding == content_coding::gzip ? gunzip(bytes)
         : coding == content_coding::br ? unbrotli(bytes)
                                        : unzstd(bytes);
}

}  // namespace

TEST_CASE("each piece of a stream is decodable as soon as it is sent, and the whole decodes to what went in") {
  for (const auto coding : {content_coding::gzip, content_coding::br, content_coding::zstd}) {
    INFO(agg::http::to_string(coding));
    auto encoder = agg::http::body_encoder::make(coding, 3);
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
