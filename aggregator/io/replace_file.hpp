#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace agg::io {

/// Replaces the contents of `path` atomically: writes a temporary file next to it, flushes it to
/// disk, renames it over `path` and flushes the directory, so a reader (or a crash) sees the old
/// file or the new one, never a mix. Keeps the old file's permission bits. On failure `path` is
/// untouched, nothing is left behind, and the reason comes back.
std::optional<std::string> replace_file(const std::string &path, std::string_view contents);

}  // namespace agg::io
