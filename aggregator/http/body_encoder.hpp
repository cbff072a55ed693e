#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace agg::http {

/// A content coding the service compresses answers with (RFC 9110, 8.4.1).
enum class content_coding { identity, gzip, br, zstd };

/// The token for `coding`: "gzip", "br", "zstd", "identity".
std::string_view to_string(content_coding coding) noexcept;

/// The coding to answer with, from the request's Accept-Encoding (its q-values; `*` for any coding
/// not named; q=0 refuses one) among those `enabled` offers, in the service's order of preference
/// (zstd, br, gzip) among equal q-values; identity when none is acceptable, or when the header is
/// absent or unreadable.
struct enabled_codings {
  bool gzip = true;
  bool br = true;
  bool zstd = true;
};
content_coding choose_coding(const std::optional<std::string> &accept_encoding, const enabled_codings &enabled);

/// Compresses one answer's body, whole or piece by piece (a stream): each piece comes out flushed,
/// so that a client decodes all that was sent so far (each NDJSON line as its call ends). Holds the
/// compressor's state (zlib, Brotli or zstd) for the answer's life.
class body_encoder {
 public:
  /// An encoder for `coding` (not identity) at `level` (the library's own scale). One for a
  /// `stream` lives as long as its answer, so it keeps small windows and tables (br at quality 2 at
  /// most): measured after 100 lines, about 140 KB (gzip), 380 KB (zstd) or 520 KB (br), where a
  /// one-shot encoder at the defaults holds 370 KB, 2.6 MB and 830 KB while it runs.
  static std::unique_ptr<body_encoder> make(content_coding coding, int level, bool stream = false);
  virtual ~body_encoder() = default;
  /// `input` compressed: flushed, or, with `last`, ending the coding's stream.
  virtual std::string encode(std::string_view input, bool last) = 0;
};

}  // namespace agg::http
