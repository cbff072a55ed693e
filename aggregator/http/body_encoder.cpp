#include "aggregator/http/body_encoder.hpp"

#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <boost/beast/http/rfc7230.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

#include "aggregator/io/unique_handle.hpp"

namespace agg::http {

std::string_view to_string(content_coding coding) noexcept {
  switch (coding) {
    case content_coding::gzip: return "gzip";
    case content_coding::br: return "br";
    case content_coding::zstd: return "zstd";
    case content_coding::identity: break;
  }
  return "identity";
}

content_coding choose_coding(const std::optional<std::string> &accept_encoding, const enabled_codings &enabled) {
  if (!accept_encoding) return content_coding::identity;
  // The preference among equal q-values: zstd costs least CPU for its ratio, then br, then gzip.
  constexpr std::array order{content_coding::zstd, content_coding::br, content_coding::gzip};
  std::array<double, 3> q{-1, -1, -1};  // -1: not named
  double any = -1;
  for (const auto &[name, params] : boost::beast::http::ext_list{*accept_encoding}) {
    double weight = 1;
    for (const auto &[param, value] : params) {
      if (!boost::beast::iequals(param, "q")) continue;
      const auto parsed = std::from_chars(value.data(), value.data() + value.size(), weight);
      if (parsed.ec != std::errc{} || parsed.ptr != value.data() + value.size() || weight < 0 || weight > 1)
        weight = 0;  // a q-value nobody can read accepts nothing
    }
    if (name == "*") any = weight;
    for (std::size_t i = 0; i < order.size(); ++i)
      if (boost::beast::iequals(name, to_string(order[i]))) q[i] = weight;
  }
  const std::array on{enabled.zstd, enabled.br, enabled.gzip};
  content_coding best = content_coding::identity;
  double best_q = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const double weight = q[i] >= 0 ? q[i] : any;
    if (on[i] && weight > best_q) {
      best = order[i];
      best_q = weight;
    }
  }
  return best;
}

namespace {

/// What each call adds to the output at least, and the output's first reservation.
constexpr std::size_t output_step = 16 << 10;

class gzip_encoder final : public body_encoder {
 public:
  gzip_encoder(int level, bool stream) {
    // Window bits + 16: a gzip header and trailer around the deflate stream. A stream's lines gain
    // little from a window past 4 KiB.
    if (deflateInit2(&z_, level, Z_DEFLATED, (stream ? 12 : 15) + 16, stream ? 5 : 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw std::runtime_error("deflateInit2 failed");
  }
  gzip_encoder(const gzip_encoder &) = delete;
  gzip_encoder &operator=(const gzip_encoder &) = delete;
  ~gzip_encoder() override { deflateEnd(&z_); }

  std::string encode(std::string_view input, bool last) override {
    std::string out;
    z_.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(input.data()));
    z_.avail_in = static_cast<uInt>(input.size());
    const int flush = last ? Z_FINISH : Z_SYNC_FLUSH;
    for (;;) {
      const std::size_t used = out.size();
      out.resize(used + std::max(output_step, input.size() / 2));
      z_.next_out = reinterpret_cast<Bytef *>(out.data() + used);
      z_.avail_out = static_cast<uInt>(out.size() - used);
      const int rc = deflate(&z_, flush);
      if (rc == Z_STREAM_ERROR) throw std::runtime_error("deflate failed");
      out.resize(out.size() - z_.avail_out);
      if (last ? rc == Z_STREAM_END : z_.avail_out != 0) return out;
    }
  }

 private:
  z_stream z_{};
};

class brotli_encoder final : public body_encoder {
 public:
  brotli_encoder(int level, bool stream) {
    // A stream: quality 2 at most (its tables are a fraction of quality 4's) and a 64 KiB window.
    const int quality = stream ? std::min(level, 2) : level;
    if (BrotliEncoderSetParameter(state_.get(), BROTLI_PARAM_QUALITY, static_cast<std::uint32_t>(quality)) ==
            BROTLI_FALSE ||
        BrotliEncoderSetParameter(state_.get(), BROTLI_PARAM_LGWIN, stream ? 16 : 20) == BROTLI_FALSE)
      throw std::runtime_error("BrotliEncoderSetParameter failed");
  }

  std::string encode(std::string_view input, bool last) override {
    std::string out;
    std::size_t available_in = input.size();
    const auto *next_in = reinterpret_cast<const std::uint8_t *>(input.data());
    const BrotliEncoderOperation op = last ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_FLUSH;
    for (;;) {
      const std::size_t used = out.size();
      out.resize(used + std::max(output_step, input.size() / 2));
      std::size_t available_out = out.size() - used;
      auto *next_out = reinterpret_cast<std::uint8_t *>(out.data() + used);
      if (BrotliEncoderCompressStream(state_.get(), op, &available_in, &next_in, &available_out, &next_out, nullptr) ==
          BROTLI_FALSE)
        throw std::runtime_error("BrotliEncoderCompressStream failed");
      out.resize(out.size() - available_out);
      const bool done = last ? BrotliEncoderIsFinished(state_.get()) == BROTLI_TRUE
                             : available_in == 0 && BrotliEncoderHasMoreOutput(state_.get()) == BROTLI_FALSE;
      if (done) return out;
    }
  }

 private:
  io::unique_handle<BrotliEncoderState, BrotliEncoderDestroyInstance> state_{
      BrotliEncoderCreateInstance(nullptr, nullptr, nullptr), "BrotliEncoderCreateInstance"};
};

class zstd_encoder final : public body_encoder {
 public:
  zstd_encoder(int level, bool stream) {
    const auto set = [this](ZSTD_cParameter parameter, int value) {
      if (ZSTD_isError(ZSTD_CCtx_setParameter(context_.get(), parameter, value)) != 0)
        throw std::runtime_error("ZSTD_CCtx_setParameter failed");
    };
    set(ZSTD_c_compressionLevel, level);
    set(ZSTD_c_windowLog, stream ? 15 : 20);  // 1 MiB at most; a stream 32 KiB, with small tables
    if (stream) {
      set(ZSTD_c_hashLog, 12);
      set(ZSTD_c_chainLog, 12);
    }
  }

  std::string encode(std::string_view input, bool last) override {
    std::string out;
    ZSTD_inBuffer in{input.data(), input.size(), 0};
    for (;;) {
      const std::size_t used = out.size();
      out.resize(used + std::max(output_step, input.size() / 2));
      ZSTD_outBuffer buffer{out.data() + used, out.size() - used, 0};
      const std::size_t left = ZSTD_compressStream2(context_.get(), &buffer, &in, last ? ZSTD_e_end : ZSTD_e_flush);
      if (ZSTD_isError(left) != 0) throw std::runtime_error(std::string{"zstd: "} + ZSTD_getErrorName(left));
      out.resize(used + buffer.pos);
      if (left == 0) return out;  // all of it flushed (or the frame ended)
    }
  }

 private:
  io::unique_handle<ZSTD_CCtx, ZSTD_freeCCtx> context_{ZSTD_createCCtx(), "ZSTD_createCCtx"};
};

}  // namespace

std::unique_ptr<body_encoder> body_encoder::make(content_coding coding, int level, bool stream) {
  switch (coding) {
    case content_coding::gzip: return std::make_unique<gzip_encoder>(level, stream);
    case content_coding::br: return std::make_unique<brotli_encoder>(level, stream);
    case content_coding::zstd: return std::make_unique<zstd_encoder>(level, stream);
    case content_coding::identity: break;
  }
  throw std::logic_error("no encoder for identity");
}

}  // namespace agg::http
