#pragma once

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace agg::testing {

/// What a client decodes from `bytes` of a body in `coding` ("gzip", "br", "zstd"; anything else
/// is taken as it is): all of it, or as much as has arrived when the stream is cut short (a flushed
/// piece decodes whole). Nullopt when the bytes are no valid coding. For the tests and the fuzz
/// targets, which check what the service sends; bounded at 64 MiB.
inline std::optional<std::string> decoded_body(std::string_view coding, std::string_view bytes) {
  constexpr std::size_t most = 64 << 20;
  std::string out;
  if (coding == "gzip") {
    z_stream z{};
    if (inflateInit2(&z, 15 + 16) != Z_OK) return std::nullopt;
    const std::unique_ptr<z_stream, int (*)(z_stream *)> end{&z, inflateEnd};
    z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(bytes.data()));
    z.avail_in = static_cast<uInt>(bytes.size());
    for (int rc = Z_OK; rc == Z_OK && out.size() < most;) {
      const std::size_t used = out.size();
      out.resize(used + (64 << 10));
      z.next_out = reinterpret_cast<Bytef *>(out.data() + used);
      z.avail_out = static_cast<uInt>(out.size() - used);
      rc = inflate(&z, Z_SYNC_FLUSH);
      out.resize(out.size() - z.avail_out);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) return std::nullopt;
      if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) break;
    }
    return out;
  }
  if (coding == "br") {
    const std::unique_ptr<BrotliDecoderState, void (*)(BrotliDecoderState *)> state{
        BrotliDecoderCreateInstance(nullptr, nullptr, nullptr), BrotliDecoderDestroyInstance};
    std::size_t in_left = bytes.size();
    const auto *next_in = reinterpret_cast<const std::uint8_t *>(bytes.data());
    for (;;) {
      const std::size_t used = out.size();
      out.resize(used + (64 << 10));
      std::size_t out_left = out.size() - used;
      auto *next_out = reinterpret_cast<std::uint8_t *>(out.data() + used);
      const auto rc = BrotliDecoderDecompressStream(state.get(), &in_left, &next_in, &out_left, &next_out, nullptr);
      out.resize(out.size() - out_left);
      if (rc == BROTLI_DECODER_RESULT_ERROR) return std::nullopt;
      if (rc != BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT || out.size() >= most) return out;
    }
  }
  if (coding == "zstd") {
    const std::unique_ptr<ZSTD_DCtx, std::size_t (*)(ZSTD_DCtx *)> context{ZSTD_createDCtx(), ZSTD_freeDCtx};
    ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
    for (;;) {
      const std::size_t used = out.size();
      out.resize(used + (64 << 10));
      ZSTD_outBuffer buffer{out.data() + used, out.size() - used, 0};
      const std::size_t rc = ZSTD_decompressStream(context.get(), &buffer, &in);
      out.resize(used + buffer.pos);
      if (ZSTD_isError(rc) != 0) return std::nullopt;
      if ((in.pos == in.size && buffer.pos < buffer.size) || out.size() >= most) return out;
    }
  }
  return std::string{bytes};
}

}  // namespace agg::testing
