#pragma once

#include <string_view>

namespace agg::endpoints {

/// One file of the `/ui` page, compiled into the binary from aggregator/ui/ (nothing is read from
/// disk or fetched from elsewhere at run time).
struct ui_asset {
  std::string_view path;          ///< where the data plane serves it
  std::string_view content_type;  ///< with its charset
  std::string_view text;
};

/// The page's file served at `path`, or null.
const ui_asset *ui_asset_at(std::string_view path) noexcept;

/// The Content-Security-Policy every file of the page is served with: its own files, and requests
/// to this service only.
inline constexpr std::string_view ui_content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

}  // namespace agg::endpoints
